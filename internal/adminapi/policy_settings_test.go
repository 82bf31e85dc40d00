package adminapi_test

import (
	"encoding/json"
	"testing"
)

// The policy settings and IdP groups go through POST and PATCH and come
// back in the policy's JSON; a bad value answers 400 naming the field.
func TestAPIPolicySettings(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/policies", e.tokenA, []byte(`{"name":"Admins","sso":"off","mfa":"required",
		"idle_timeout_seconds":900,"max_lifetime_seconds":28800,"add_groups":["gh-admins"]}`))
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p struct {
		MFA      string   `json:"mfa"`
		Failback string   `json:"failback"`
		Idle     int64    `json:"idle_timeout_seconds"`
		Life     int64    `json:"max_lifetime_seconds"`
		Window   int      `json:"failback_window_days"`
		Auto     int64    `json:"auto_failback_after_seconds"`
		Groups   []string `json:"groups"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.MFA != "required" || p.Idle != 900 || p.Life != 28800 || p.Window != 30 || p.Failback != "allowed" || len(p.Groups) != 1 {
		t.Fatalf("created %+v", p)
	}
	r = e.do("PATCH", "/api/v1/policies/Admins", e.tokenA, []byte(`{"failback":"denied","auto_failback_after_seconds":600,"remove_groups":["gh-admins"]}`))
	if r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Failback != "denied" || p.Auto != 600 || len(p.Groups) != 0 {
		t.Fatalf("updated %+v", p)
	}
	r = e.do("PATCH", "/api/v1/policies/Admins", e.tokenA, []byte(`{"idle_timeout_seconds":99999999999999}`))
	if r.status != 400 {
		t.Fatalf("absurd idle timeout: %d %s", r.status, r.body)
	}
}
