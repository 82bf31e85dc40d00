package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-id/gatehouse/internal/account"
	"github.com/gatehouse-id/gatehouse/internal/apiview"
	"github.com/gatehouse-id/gatehouse/internal/app"
	"github.com/gatehouse-id/gatehouse/internal/idp"
	"github.com/gatehouse-id/gatehouse/internal/saml"
	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var adminIdPCmd = &cobra.Command{
	Use:   "idp",
	Short: "Connect SAML identity providers (Entra ID, Okta, Google, any SAML 2.0 IdP)",
	Long: `Connect an organization to its SAML 2.0 identity provider. Give Gatehouse the
IdP's metadata URL (best: certificate rollovers are picked up by themselves),
its metadata file, or its entity ID, SSO URL and signing certificate; Gatehouse
prints what to give the IdP in return: the SP entity ID, the ACS (reply) URL and
the SP metadata URL (or file, with ` + "`idp sp-metadata`" + `).`,
}

// maxCertFile bounds a --cert-file: a certificate chain, not a data dump.
const maxCertFile = 64 << 10

// readInputFile reads the file a flag names ("-" is stdin), refusing
// anything larger than max bytes or empty.
func readInputFile(cmd *cobra.Command, flagName, path string, max int64) (string, error) {
	var r io.Reader
	if path == "-" {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(path)
		if err != nil {
			return "", fmt.Errorf("--%s: %v", flagName, unwrapPathError(err))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	switch {
	case err != nil:
		return "", fmt.Errorf("--%s: cannot read %s: %v", flagName, path, unwrapPathError(err))
	case int64(len(b)) > max:
		return "", fmt.Errorf("--%s: %s is larger than %d KiB", flagName, path, max>>10)
	case strings.TrimSpace(string(b)) == "":
		return "", fmt.Errorf("--%s: %s is empty", flagName, path)
	}
	return string(b), nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// mapFlag reads repeated --map FIELD=ATTRIBUTE flags.
func mapFlag(cmd *cobra.Command) (map[string]string, error) {
	specs, _ := cmd.Flags().GetStringArray("map")
	if len(specs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("--map %q: write it as FIELD=ATTRIBUTE, e.g. email=http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", s)
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m, nil
}

func boolFlag(cmd *cobra.Command, name string) bool {
	v, _ := cmd.Flags().GetBool(name)
	return v
}

// idpCreateInput reads idp add's flags and files, before the database is
// opened: a missing file must not cost a half-done change.
func idpCreateInput(cmd *cobra.Command) (idp.CreateInput, error) {
	in := idp.CreateInput{
		Name: flag(cmd, "name"), Slug: flag(cmd, "slug"), MetadataURL: flag(cmd, "metadata-url"),
		EntityID: flag(cmd, "entity-id"), SSOURL: flag(cmd, "sso-url"), NameIDFormat: flag(cmd, "name-id-format"),
		AllowIdPInitiated: boolFlag(cmd, "allow-idp-initiated"), AllowSHA1: boolFlag(cmd, "allow-sha1"),
		AllowExpiredCerts: boolFlag(cmd, "allow-expired-certs"), SignRequests: boolFlag(cmd, "sign-requests"),
	}
	var err error
	if f := flag(cmd, "metadata-file"); f != "" {
		if in.MetadataXML, err = readInputFile(cmd, "metadata-file", f, saml.MaxMetadataBytes); err != nil {
			return in, err
		}
	}
	files, _ := cmd.Flags().GetStringArray("cert-file")
	for _, f := range files {
		pem, err := readInputFile(cmd, "cert-file", f, maxCertFile)
		if err != nil {
			return in, err
		}
		in.CertificatesPEM = append(in.CertificatesPEM, pem)
	}
	if in.AttributeMap, err = mapFlag(cmd); err != nil {
		return in, err
	}
	if boolFlag(cmd, "no-jit") {
		off := false
		in.JIT = &off
	}
	return in, nil
}

var adminIdPAddCmd = &cobra.Command{
	Use:   "add --org ORG --name NAME (--metadata-url URL | --metadata-file FILE | --entity-id ID --sso-url URL --cert-file FILE…)",
	Short: "Connect a SAML IdP and print what to give it (SP entity ID, ACS URL, SP metadata URL)",
	Example: `  gatehouse admin idp add --org acme --name "Contoso Entra ID" --metadata-url 'https://login.microsoftonline.com/…/federationmetadata.xml?appid=…'
  gatehouse admin idp add --org acme --name Okta --metadata-file okta-metadata.xml
  gatehouse admin idp add --org acme --name ADFS --entity-id http://adfs.corp.example/adfs/services/trust \
      --sso-url https://adfs.corp.example/adfs/ls/ --cert-file adfs-signing.pem`,
	Args:    cobra.NoArgs,
	PreRunE: requires("org", "name"),
	RunE: func(cmd *cobra.Command, args []string) error {
		in, err := idpCreateInput(cmd)
		if err != nil {
			return err
		}
		return withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
			c, err := a.IdPs.Create(ctx, org.ID, in)
			if err != nil {
				return cliErr(err)
			}
			conn := apiview.ConnectionFrom(a.IdPs, c, a.Now())
			if jsonOutput(cmd) {
				return printJSON(out, conn)
			}
			fmt.Fprintf(out, "Connected %s to %s (slug %s, id %s).\n\n", c.Name, org.Slug, c.Slug, c.ID)
			printGiveTheIdP(out, org, conn)
			printWarnings(out, conn.Warnings)
			fmt.Fprintf(out, "\nNext: complete a test sign-in through this connection; SSO can be enforced only after one.\n")
			return nil
		})(cmd, args)
	},
}

func printGiveTheIdP(out io.Writer, org storage.Organization, c apiview.Connection) {
	fmt.Fprintln(out, "Give the IdP these settings:")
	kv(out, [][2]string{
		{"SP entity ID (Identifier, Audience)", c.SPEntityID},
		{"ACS URL (Reply URL)", c.ACSURL},
		{"SP metadata URL", c.SPMetadataURL},
	})
	fmt.Fprintf(out, "or upload the SP metadata: gatehouse admin idp sp-metadata --org %s --slug %s > sp.xml\n", org.Slug, c.Slug)
}

func printWarnings(out io.Writer, ws []string) {
	if len(ws) == 0 {
		return
	}
	fmt.Fprintln(out, "\nWarnings:")
	for _, w := range ws {
		fmt.Fprintf(out, "  - %s\n", cell(w))
	}
}

// kv prints indented label/value rows, aligned.
func kv(out io.Writer, rows [][2]string) {
	tw := tabwriter.NewWriter(out, 0, 0, 3, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "    %s\t%s\n", r[0], cell(r[1]))
	}
	_ = tw.Flush()
}

// connectionFlag resolves --slug (a slug or an ID) within org.
func connectionFlag(ctx context.Context, a *app.App, cmd *cobra.Command, org storage.Organization) (storage.IdPConnection, error) {
	ref := flag(cmd, "slug")
	c, err := a.IdPs.Find(ctx, org.ID, ref)
	if errors.Is(err, account.ErrNotFound) {
		return c, fmt.Errorf("%s has no IdP connection %q (see: gatehouse admin idp list --org %s)", org.Slug, ref, org.Slug)
	}
	return c, cliErr(err)
}

// idpCommand builds an idp subcommand that works on the connection --slug
// names; the string flags required must be given too.
func idpCommand(use, short string, fn func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error, required ...string) *cobra.Command {
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Args:    cobra.NoArgs,
		PreRunE: requires(append([]string{"org", "slug"}, required...)...),
		RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
			c, err := connectionFlag(ctx, a, cmd, org)
			if err != nil {
				return err
			}
			return fn(ctx, a, cmd, out, org, c)
		}),
	}
	addOrgFlag(cmd)
	cmd.Flags().String("slug", "", "the connection's slug (or ID) (required)")
	return cmd
}

var adminIdPShowCmd = idpCommand("show --org ORG --slug SLUG", "Show everything about a connection: SP settings, certificates with expiry, warnings",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
		conn := apiview.ConnectionFrom(a.IdPs, c, a.Now())
		if jsonOutput(cmd) {
			return printJSON(out, conn)
		}
		return printConnection(out, org, conn, a.Now())
	})

func printConnection(out io.Writer, org storage.Organization, conn apiview.Connection, now time.Time) error {
	fmt.Fprintf(out, "%s (slug %s, id %s)\n\n", cell(conn.Name), conn.Slug, conn.ID)
	printGiveTheIdP(out, org, conn)

	onOff := func(b bool, on, off string) string {
		if b {
			return on
		}
		return off
	}
	source := map[string]string{"metadata_url": "metadata URL " + conn.MetadataURL, "metadata_xml": "metadata file", "manual": "manual settings"}[conn.Source]
	if conn.MetadataFetchedAt != nil {
		source += " (fetched " + when(*conn.MetadataFetchedAt) + ")"
	}
	nameID := conn.NameIDFormat
	if nameID == "" {
		nameID = "any"
	}
	mapping := "Entra ID's claim names"
	if len(conn.AttributeMap) > 0 {
		var parts []string
		for k, v := range conn.AttributeMap {
			parts = append(parts, k+"="+v)
		}
		sort.Strings(parts)
		mapping = strings.Join(parts, ", ") + " (the rest: Entra ID's claim names)"
	}
	tested := "never: complete one before enforcing SSO"
	if conn.TestedAt != nil {
		tested = when(*conn.TestedAt)
	}
	fmt.Fprintln(out, "\nThe IdP:")
	rows := [][2]string{
		{"Source", source},
		{"Entity ID", conn.EntityID},
		{"SSO URL", conn.SSOURL},
		{"NameID format", nameID},
		{"Attribute mapping", mapping},
		{"JIT provisioning", onOff(conn.JIT, "on", "off")},
		{"IdP-initiated sign-in", onOff(conn.AllowIdPInitiated, "allowed", "refused")},
		{"SHA-1 signatures", onOff(conn.AllowSHA1, "accepted", "refused")},
		{"Expired certificates", onOff(conn.AllowExpiredCertificates, "accepted", "refused")},
		{"Signed requests", onOff(conn.SignRequests, "yes", "no")},
		{"Last test sign-in", tested},
	}
	if conn.MetadataError != "" {
		rows = append(rows, [2]string{"Last refresh error", conn.MetadataError})
	}
	kv(out, rows)

	fmt.Fprintln(out, "\nTrusted signing certificates:")
	certRows := make([][]string, 0, len(conn.Certificates))
	for _, cert := range conn.Certificates {
		certRows = append(certRows, []string{"  " + cert.SHA256Fingerprint, cert.Subject, when(cert.NotAfter), expiryNote(cert.NotAfter, now)})
	}
	if err := table(out, []string{"  SHA-256 FINGERPRINT", "SUBJECT", "EXPIRES", ""}, certRows); err != nil {
		return err
	}
	printWarnings(out, conn.Warnings)
	return nil
}

// expiryNote says how soon a certificate expires.
func expiryNote(notAfter, now time.Time) string {
	d := notAfter.Sub(now)
	switch {
	case d < 0:
		return "EXPIRED"
	case d < 48*time.Hour:
		return "expires in " + strconv.Itoa(int(d.Hours())) + " hours"
	default:
		return "in " + strconv.Itoa(int(d.Hours()/24)) + " days"
	}
}

var adminIdPListCmd = &cobra.Command{
	Use:     "list --org ORG",
	Short:   "List an organization's IdP connections",
	Args:    cobra.NoArgs,
	PreRunE: requires("org"),
	RunE: withOrg(func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization) error {
		cs, err := a.IdPs.List(ctx, org.ID)
		if err != nil {
			return cliErr(err)
		}
		now := a.Now()
		toJSON := func(c storage.IdPConnection) apiview.Connection { return apiview.ConnectionFrom(a.IdPs, c, now) }
		return printList(cmd, out, "idps", cs, toJSON,
			[]string{"SLUG", "NAME", "SOURCE", "ENTITY ID", "CERTS", "FIRST EXPIRY", "TESTED", "WARNINGS"}, func(sc storage.IdPConnection) []string {
				c := toJSON(sc)
				var first time.Time
				for _, cert := range c.Certificates {
					if first.IsZero() || cert.NotAfter.Before(first) {
						first = cert.NotAfter
					}
				}
				tested := "never"
				if c.TestedAt != nil {
					tested = when(*c.TestedAt)
				}
				return []string{c.Slug, c.Name, strings.ReplaceAll(c.Source, "_", " "), c.EntityID,
					strconv.Itoa(len(c.Certificates)), when(first), tested, strconv.Itoa(len(c.Warnings))}
			})
	}),
}

var adminIdPRemoveCmd = idpCommand("remove --org ORG --slug SLUG", "Remove a connection (refused while a policy uses it)",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
		if err := a.IdPs.Remove(ctx, org.ID, c.ID); err != nil {
			return cliErr(err)
		}
		return report(cmd, out, map[string]any{"removed": apiview.ConnectionFrom(a.IdPs, c, a.Now())},
			"Removed the IdP connection %s from %s, with its SSO links.\n", c.Slug, org.Slug)
	})

var adminIdPCertCmd = &cobra.Command{Use: "cert", Short: "Trust or stop trusting IdP signing certificates (rollover)"}

var adminIdPCertAddCmd = func() *cobra.Command {
	c := idpCommand("add --org ORG --slug SLUG --cert-file FILE", "Trust one more signing certificate of the IdP",
		func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
			pem, err := readInputFile(cmd, "cert-file", flag(cmd, "cert-file"), maxCertFile)
			if err != nil {
				return err
			}
			if c, err = a.IdPs.AddCertificate(ctx, org.ID, c.ID, pem); err != nil {
				return cliErr(err)
			}
			return printCerts(cmd, out, a, org, c, "Added the certificate.")
		}, "cert-file")
	c.Flags().String("cert-file", "", "PEM (or base64 DER) certificate file, - for stdin (required)")
	return c
}()

var adminIdPCertRemoveCmd = func() *cobra.Command {
	c := idpCommand("remove --org ORG --slug SLUG --fingerprint SHA256", "Stop trusting a signing certificate (never the last one)",
		func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
			c, err := a.IdPs.RemoveCertificate(ctx, org.ID, c.ID, flag(cmd, "fingerprint"))
			if err != nil {
				return cliErr(err)
			}
			return printCerts(cmd, out, a, org, c, "Removed the certificate.")
		}, "fingerprint")
	c.Flags().String("fingerprint", "", "the certificate's SHA-256 fingerprint, as idp show prints it (required)")
	return c
}()

func printCerts(cmd *cobra.Command, out io.Writer, a *app.App, org storage.Organization, c storage.IdPConnection, done string) error {
	conn := apiview.ConnectionFrom(a.IdPs, c, a.Now())
	if jsonOutput(cmd) {
		return printJSON(out, conn)
	}
	fmt.Fprintf(out, "%s %s now trusts %d signing certificate(s):\n", done, c.Slug, len(conn.Certificates))
	rows := make([][]string, 0, len(conn.Certificates))
	for _, cert := range conn.Certificates {
		rows = append(rows, []string{cert.SHA256Fingerprint, cert.Subject, when(cert.NotAfter)})
	}
	if err := table(out, []string{"SHA-256 FINGERPRINT", "SUBJECT", "EXPIRES"}, rows); err != nil {
		return err
	}
	printWarnings(out, conn.Warnings)
	return nil
}

var adminIdPRefreshCmd = idpCommand("refresh --org ORG --slug SLUG", "Fetch the connection's metadata URL now",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
		if c.MetadataURL == "" {
			return fmt.Errorf("%s has no metadata URL to refresh from (its settings are %s)", c.Slug, strings.ReplaceAll(apiview.ConnectionSource(c), "_", " "))
		}
		slug := c.Slug
		c, err := a.IdPs.RefreshMetadata(ctx, c.ID)
		var invalid *account.InvalidInputError
		if errors.As(err, &invalid) {
			return fmt.Errorf("refreshing %s failed: %s. Sign-in keeps using the last good copy", slug, strings.TrimSuffix(invalid.Message, "."))
		} else if err != nil {
			return cliErr(err)
		}
		return report(cmd, out, apiview.ConnectionFrom(a.IdPs, c, a.Now()),
			"Refreshed %s from %s: entity ID %s, %d signing certificate(s).\n", c.Slug, c.MetadataURL, c.EntityID, len(c.SigningCertsPEM))
	})

var adminIdPSPMetadataCmd = idpCommand("sp-metadata --org ORG --slug SLUG > sp.xml", "Print Gatehouse's SP metadata for the connection, to upload to the IdP",
	func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
		xml, err := a.IdPs.SPMetadata(ctx, c)
		if err != nil {
			return err
		}
		if _, err := out.Write(xml); err != nil {
			return err
		}
		if len(xml) > 0 && xml[len(xml)-1] != '\n' {
			_, err = io.WriteString(out, "\n")
		}
		return err
	})

var adminIdPUpdateCmd = func() *cobra.Command {
	c := idpCommand("update --org ORG --slug SLUG [--name …] [--metadata-url …|--metadata-file …] [--allow-sha1=false] …",
		"Change a connection's settings (only the flags given)",
		func(ctx context.Context, a *app.App, cmd *cobra.Command, out io.Writer, org storage.Organization, c storage.IdPConnection) error {
			in, err := idpUpdateInput(cmd)
			if err != nil {
				return err
			}
			if c, err = a.IdPs.Update(ctx, org.ID, c.ID, in); err != nil {
				return cliErr(err)
			}
			conn := apiview.ConnectionFrom(a.IdPs, c, a.Now())
			if jsonOutput(cmd) {
				return printJSON(out, conn)
			}
			fmt.Fprintf(out, "Updated %s.\n", c.Slug)
			printWarnings(out, conn.Warnings)
			return nil
		})
	f := c.Flags()
	f.String("name", "", "new display name")
	f.String("metadata-url", "", `follow this metadata URL ("" to stop following one, keeping the current settings)`)
	f.String("metadata-file", "", "replace the settings with this metadata file")
	f.String("entity-id", "", "the IdP's entity ID (manual settings only)")
	f.String("sso-url", "", "the IdP's SSO URL (manual settings only)")
	f.String("name-id-format", "", "persistent, emailAddress, unspecified, or \"\" for any")
	f.Bool("jit", true, "create accounts at their first sign-in")
	f.Bool("allow-idp-initiated", false, "accept IdP-initiated sign-in")
	f.Bool("allow-sha1", false, "accept SHA-1 signatures")
	f.Bool("allow-expired-certs", false, "accept signatures made with an expired certificate")
	f.Bool("sign-requests", false, "sign AuthnRequests")
	f.StringArray("map", nil, "replace the attribute mapping: FIELD=ATTRIBUTE (repeatable)")
	return c
}()

// idpUpdateInput turns the flags given (and only those) into changes.
func idpUpdateInput(cmd *cobra.Command) (idp.UpdateInput, error) {
	var in idp.UpdateInput
	f := cmd.Flags()
	str := func(name string) *string {
		if !f.Changed(name) {
			return nil
		}
		v := flag(cmd, name)
		return &v
	}
	boolean := func(name string) *bool {
		if !f.Changed(name) {
			return nil
		}
		v := boolFlag(cmd, name)
		return &v
	}
	in.Name, in.MetadataURL, in.EntityID, in.SSOURL, in.NameIDFormat = str("name"), str("metadata-url"), str("entity-id"), str("sso-url"), str("name-id-format")
	in.JIT, in.AllowIdPInitiated, in.AllowSHA1 = boolean("jit"), boolean("allow-idp-initiated"), boolean("allow-sha1")
	in.AllowExpiredCerts, in.SignRequests = boolean("allow-expired-certs"), boolean("sign-requests")
	if f.Changed("metadata-file") {
		xml, err := readInputFile(cmd, "metadata-file", flag(cmd, "metadata-file"), saml.MaxMetadataBytes)
		if err != nil {
			return in, err
		}
		in.MetadataXML = &xml
	}
	if f.Changed("map") {
		m, err := mapFlag(cmd)
		if err != nil {
			return in, err
		}
		in.AttributeMap = &m
	}
	if in == (idp.UpdateInput{}) {
		return in, errors.New("nothing to change: give at least one setting, e.g. --allow-sha1=false")
	}
	return in, nil
}

func init() {
	addOrgFlag(adminIdPAddCmd, adminIdPListCmd)
	f := adminIdPAddCmd.Flags()
	f.String("name", "", "display name, e.g. \"Contoso Entra ID\" (required)")
	f.String("slug", "", "short name in the connection's URLs; cannot change later (default: derived from --name)")
	f.String("metadata-url", "", "the IdP's metadata URL (https; http only for localhost)")
	f.String("metadata-file", "", "the IdP's metadata XML file, - for stdin")
	f.String("entity-id", "", "the IdP's entity ID (manual settings)")
	f.String("sso-url", "", "the IdP's SSO URL, HTTP-Redirect binding (manual settings)")
	f.StringArray("cert-file", nil, "the IdP's signing certificate, PEM (manual settings; repeatable)")
	f.String("name-id-format", "", "persistent, emailAddress or unspecified (default: any)")
	f.Bool("no-jit", false, "do not create accounts at their first sign-in")
	f.Bool("allow-idp-initiated", false, "accept IdP-initiated sign-in (weaker: login CSRF)")
	f.Bool("sign-requests", false, "sign AuthnRequests")
	f.Bool("allow-sha1", false, "accept SHA-1 signatures (insecure)")
	f.Bool("allow-expired-certs", false, "accept signatures made with an expired certificate")
	f.StringArray("map", nil, "attribute mapping FIELD=ATTRIBUTE, FIELD one of email, given_name, surname, display_name, groups, subject (repeatable)")
	adminIdPCertCmd.AddCommand(adminIdPCertAddCmd, adminIdPCertRemoveCmd)
	adminIdPCmd.AddCommand(adminIdPAddCmd, adminIdPShowCmd, adminIdPListCmd, adminIdPUpdateCmd, adminIdPRemoveCmd,
		adminIdPCertCmd, adminIdPRefreshCmd, adminIdPSPMetadataCmd)
	adminCmd.AddCommand(adminIdPCmd)
}
