package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/policy"
)

// addPolicySettingsFlags adds the flags of a policy's settings beside SSO.
func addPolicySettingsFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("failback", "", "allowed or denied: whether members may sign in another way during an emergency")
	f.String("mfa", "", "required or optional: a second factor after the first")
	f.String("idle-timeout", "", `sessions end after this long unused, e.g. 30m or 8h ("0" = the deployment's)`)
	f.String("max-lifetime", "", `sessions end this long after sign-in, e.g. 12h ("0" = the deployment's)`)
	f.String("failback-window", "", "days: an IdP-created account may fail back if it signed in through SSO within them")
	f.String("auto-failback-after", "", `start emergency mode after an incident lasts this long, e.g. 15m ("0" = off)`)
	f.StringArray("add-group", nil, "an IdP group whose members fall under the policy (repeatable)")
	f.StringArray("remove-group", nil, "an IdP group the policy stops covering (repeatable)")
}

// policySettingsFlags reads the settings flags; only those given are set.
func policySettingsFlags(cmd *cobra.Command) (policy.Settings, error) {
	var s policy.Settings
	str := func(name string) *string {
		if !cmd.Flags().Changed(name) {
			return nil
		}
		v := flag(cmd, name)
		return &v
	}
	dur := func(name string) (*time.Duration, error) {
		v := str(name)
		if v == nil {
			return nil, nil
		}
		if *v == "0" {
			var zero time.Duration
			return &zero, nil
		}
		d, err := time.ParseDuration(*v)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a duration like 30m or 8h", name, *v)
		}
		return &d, nil
	}
	var err error
	s.Failback, s.MFA = str("failback"), str("mfa")
	if s.IdleTimeout, err = dur("idle-timeout"); err != nil {
		return s, err
	}
	if s.MaxLifetime, err = dur("max-lifetime"); err != nil {
		return s, err
	}
	if s.AutoFailbackAfter, err = dur("auto-failback-after"); err != nil {
		return s, err
	}
	if v := str("failback-window"); v != nil {
		n, err := strconv.Atoi(*v)
		if err != nil {
			return s, fmt.Errorf("--failback-window: %q is not a number of days", *v)
		}
		s.FailbackWindowDays = &n
	}
	s.AddGroups, _ = cmd.Flags().GetStringArray("add-group")
	s.RemoveGroups, _ = cmd.Flags().GetStringArray("remove-group")
	return s, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func orDeployment(d time.Duration) string {
	if d == 0 {
		return "the deployment's"
	}
	return d.String()
}

// somethingToSet refuses `policy set` with nothing to set.
func somethingToSet(cmd *cobra.Command) error {
	for _, name := range []string{"sso", "idp", "failback", "mfa", "idle-timeout", "max-lifetime", "failback-window", "auto-failback-after", "add-group", "remove-group"} {
		if cmd.Flags().Changed(name) {
			return nil
		}
	}
	return fmt.Errorf("--sso is required (or give a setting such as --mfa)")
}
