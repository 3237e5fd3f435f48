package intake

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/prometheus/prometheus/storage"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/logstore"
	"github.com/sextant-sre/sextant/internal/servicegraph"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// NewGRPCServer serves OTLP metrics (and logs and traces, when their stores are not nil) over gRPC. Every call needs
// the metadata "authorization: Bearer sxt_…" of a token with the responder role. maxBytes bounds
// one message.
func NewGRPCServer(logger *slog.Logger, tokens auth.Store, maxBytes int, metrics storage.AppendableV2, logs *logstore.Store, graph *servicegraph.Graph) *grpc.Server {
	s := grpc.NewServer(grpc.MaxRecvMsgSize(maxBytes), grpc.UnaryInterceptor(authenticate(tokens)))
	pmetricotlp.RegisterGRPCServer(s, &OTLPMetricsGRPC{m: newMetricsConverter(logger, metrics)})
	if logs != nil {
		plogotlp.RegisterGRPCServer(s, &OTLPLogsGRPC{Store: logs})
	}
	if graph != nil {
		ptraceotlp.RegisterGRPCServer(s, &OTLPTracesGRPC{Graph: graph})
	}
	return s
}

func authenticate(tokens auth.Store) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		var secret string
		if v := md.Get("authorization"); len(v) > 0 {
			secret, _ = strings.CutPrefix(v[0], "Bearer ")
		}
		if !auth.LooksLikeSecret(secret) {
			return nil, status.Error(codes.Unauthenticated, `send the metadata "authorization: Bearer sxt_…"`)
		}
		t, err := tokens.TokenByHash(ctx, auth.Hash(secret))
		if errors.Is(err, auth.ErrNotFound) {
			return nil, status.Error(codes.Unauthenticated, "the token is unknown or revoked")
		}
		if err != nil {
			return nil, status.Error(codes.Unavailable, "cannot check the token now")
		}
		if !t.Role.Allows(auth.Responder) {
			return nil, status.Error(codes.PermissionDenied, "sending telemetry needs the responder role")
		}
		return next(auth.WithPrincipal(ctx, auth.Principal{TokenID: t.ID, Name: t.Name, Role: t.Role, Kind: t.Kind}), req)
	}
}
