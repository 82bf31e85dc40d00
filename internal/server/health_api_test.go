package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/reqctx"
	"github.com/gatehouse-id/gatehouse/internal/server"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// The server mounts the SSO health endpoints of the admin API: a read
// token lists its organization's incidents.
func TestServerServesHealthAPI(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	a, err := app.Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	ctx := reqctx.With(context.Background(), reqctx.Info{ActorType: "system", ActorID: "test"})
	org, err := a.Accounts.CreateOrganization(ctx, "Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := a.Accounts.CreateAPITokenWithScope(ctx, org.ID, "dashboard", storage.TokenScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	h, err := server.Handler(a)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/incidents", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var list struct{ Incidents []any }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil || list.Incidents == nil || len(list.Incidents) != 0 {
		t.Errorf("GET /api/v1/incidents = %d %s", resp.StatusCode, body)
	}
}
