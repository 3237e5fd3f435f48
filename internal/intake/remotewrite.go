// Package intake owns the receivers that bring telemetry into Sextant's own stores: Prometheus
// remote write (1.0 and 2.0) into the embedded metrics store.
package intake

import (
	"log/slog"
	"net/http"

	remoteapi "github.com/prometheus/client_golang/exp/api/remote"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/storage/remote"
)

// RemoteWrite returns a handler for Prometheus remote write 1.0 and 2.0 that appends into store.
// maxBytes bounds the compressed body. A sample already stored with the same timestamp and value
// is accepted again without change, so a redelivered request stores nothing twice.
func RemoteWrite(logger *slog.Logger, reg prometheus.Registerer, store storage.AppendableV2, maxBytes int64) http.Handler {
	h := remote.NewWriteHandler(logger, reg, store, remoteapi.MessageTypes{remoteapi.WriteV1MessageType, remoteapi.WriteV2MessageType}, false, false)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
		h.ServeHTTP(w, r)
	})
}
