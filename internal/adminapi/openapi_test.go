package adminapi

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/gatehouse-id/gatehouse/internal/apiview"
)

// The OpenAPI description is part of the contract: it must list exactly
// the routes the handler serves, and its schemas exactly the fields the
// handler writes, so the document cannot drift from the code.
func TestOpenAPIMatchesHandler(t *testing.T) {
	raw, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components struct {
			Schemas map[string]struct {
				Properties map[string]any `yaml:"properties"`
				Required   []string       `yaml:"required"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}

	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+Prefix+path)
		}
	}
	var served []string
	for _, r := range (&Handler{}).routeTable() {
		served = append(served, r.pattern)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Errorf("openapi.yaml documents\n  %s\nbut the handler serves\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}

	for name, v := range map[string]any{
		"Organization": apiview.Organization{}, "Member": apiview.Member{}, "MemberListing": apiview.MemberListing{}, "MemberPage": apiview.MemberPage{}, "Session": apiview.Session{}, "Token": apiview.Token{},
		"CreatedToken": apiview.CreatedToken{}, "AuditPage": apiview.AuditPage{}, "VerifyResult": apiview.VerifyResult{},
		"AddMemberRequest": addMemberRequest{}, "UpdateMemberRequest": updateMemberRequest{},
		"Domain": apiview.Domain{}, "TXTRecord": apiview.TXTRecord{}, "AddDomainRequest": addDomainRequest{},
		"Connection": apiview.Connection{}, "Certificate": apiview.Certificate{}, "CreateIdPRequest": createIdPRequest{},
		"UpdateIdPRequest": updateIdPRequest{}, "AddCertificateRequest": addCertificateRequest{},
		"Policy": apiview.Policy{}, "CreatePolicyRequest": createPolicyRequest{}, "UpdatePolicyRequest": updatePolicyRequest{},
		"ConnectionHealth": apiview.ConnectionHealth{}, "OutcomeCounts": apiview.OutcomeCounts{}, "SSOOutcome": apiview.SSOOutcome{},
		"HealthCheck": apiview.HealthCheck{}, "Incident": apiview.Incident{}, "IncidentList": apiview.IncidentList{},
		"Error":     errorBody{},
		"Emergency": apiview.Emergency{}, "EmergencySignIn": apiview.EmergencySignIn{}, "Actor": apiview.Actor{},
		"StartEmergencyRequest": startEmergencyRequest{}, "ExtendEmergencyRequest": extendEmergencyRequest{},
		"EndEmergencyRequest": endEmergencyRequest{}, "PasswordExposure": apiview.PasswordExposure{},
		"ReadinessPage": apiview.ReadinessPage{}, "ReadinessSummary": apiview.ReadinessSummary{},
		"ReadinessPolicy": apiview.ReadinessPolicy{}, "ReadinessPerson": apiview.ReadinessPerson{},
		"ReminderResult": apiview.ReminderResult{}, "RemindRequest": remindRequest{},
		"BreakGlass": apiview.BreakGlass{}, "BreakGlassAdmin": apiview.BreakGlassAdmin{}, "BreakGlassWarning": apiview.BreakGlassWarning{},
		"RecoveryCodesStatus": apiview.RecoveryCodesStatus{}, "RecoveryCodes": apiview.RecoveryCodes{},
		"FactorReset": apiview.FactorReset{}, "ResetFactorsRequest": resetFactorsRequest{},
		"SSOLink":        apiview.SSOLink{},
		"PolicyCoverage": apiview.PolicyCoverage{}, "CoveredPerson": apiview.CoveredPerson{},
		"App": apiview.App{}, "AppCreated": apiview.AppCreated{}, "AppSecret": apiview.AppSecret{}, "AppRequest": appRequest{},
	} {
		schema, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("openapi.yaml has no schema %s", name)
			continue
		}
		var documented []string
		for p := range schema.Properties {
			documented = append(documented, p)
		}
		fields := jsonFields(reflect.TypeOf(v))
		slices.Sort(documented)
		slices.Sort(fields)
		if !slices.Equal(documented, fields) {
			t.Errorf("schema %s documents %v, the JSON has %v", name, documented, fields)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); f.Anonymous && f.Tag.Get("json") == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...) // promoted, as encoding/json does
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
