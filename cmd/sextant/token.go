package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/sextant-sre/sextant/internal/auth"
	"github.com/sextant-sre/sextant/internal/config"
	"github.com/sextant-sre/sextant/internal/incident"
	"github.com/sextant-sre/sextant/internal/store"
)

// tokenCmd manages API tokens directly in the store (SQLite allows this beside a running server).
func tokenCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("token: want create, list or revoke")
	}
	sub := args[0]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config.Server
	c.RegisterStorage(fs)
	role := fs.String("role", "", "role: viewer, responder or admin (create)")
	name := fs.String("name", "", "who or what the token is for (create)")
	kind := fs.String("kind", "person", "actor kind of its events: person, integration, analyzer or ai (create)")
	fs.Usage = func() { config.Usage(stderr, fs, "sextant token create|list|revoke: manage API tokens.") }
	if _, err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	st, err := store.OpenSQLite(ctx, c.DataDir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "create":
		r, err := auth.ParseRole(*role)
		if err != nil {
			return fmt.Errorf("--role: %w", err)
		}
		secret, t, err := auth.IssueToken(ctx, st, uuid.Must(uuid.NewV7()).String(), *name, r, incident.ActorKind(*kind), time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "created token %s (%s, %s); the secret below is shown only once\n", t.ID, t.Name, t.Role)
		fmt.Fprintln(stdout, secret)
	case "list":
		ts, err := st.ListTokens(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tROLE\tKIND\tCREATED\tREVOKED")
		for _, t := range ts {
			revoked := ""
			if !t.RevokedAt.IsZero() {
				revoked = t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Kind, t.CreatedAt.Format(time.RFC3339), revoked)
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("token revoke: give the token's ID")
		}
		if err := st.RevokeToken(ctx, fs.Arg(0), time.Now()); err != nil {
			return fmt.Errorf("revoke %s: %w", fs.Arg(0), err)
		}
		fmt.Fprintf(stderr, "revoked %s\n", fs.Arg(0))
	default:
		return fmt.Errorf("token: unknown subcommand %q; want create, list or revoke", sub)
	}
	return nil
}
