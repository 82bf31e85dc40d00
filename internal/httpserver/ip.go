package httpserver

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/reqctx"
)

func reqctxIP(r *http.Request) string { return reqctx.From(r.Context()).IP }
