package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

// rsaBits is the size RFC 7518 §3.3 requires at least and every relying
// party accepts; keys rotate monthly by default.
const rsaBits = 2048

// keyTail is how long a retired key stays in the key set: at least as
// long as any ID token it signed lives (an app may set up to a day), and
// id_token_hint values signed by it are still recognised.
const keyTail = 24 * time.Hour

// keyReload bounds how long a node signs with keys another node may have
// rotated away from.
const keyReload = time.Minute

// sealContext binds sealed private keys to their use.
const sealContext = "oidc signing key"

// signingKey is one usable key: the private half for signing, the public
// half for the key set.
type signingKey struct {
	id          string
	alg         jose.SignatureAlgorithm
	priv        crypto.Signer
	createdAt   time.Time
	activeUntil time.Time
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.priv }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is a key of the published set.
type publicKey struct {
	id  string
	alg jose.SignatureAlgorithm
	pub any
}

func (k publicKey) ID() string                         { return k.id }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.pub }

var (
	_ op.SigningKey = (*signingKey)(nil)
	_ op.Key        = publicKey{}
)

// keyRing caches the unsealed keys; every node reloads them from storage.
type keyRing struct {
	p        *Provider
	mu       sync.Mutex
	keys     []*signingKey
	loadedAt time.Time
}

func newKeyRing(p *Provider) *keyRing { return &keyRing{p: p} }

// EnsureKeys creates a signing key for every configured algorithm that has
// none active, or whose active key enters the last quarter of its life (the
// next key is then published a quarter of a rotation before it signs, so
// relying parties that cache the key set have it). Several nodes may call
// it at once: the storage lock lets one create and the others see it.
func (p *Provider) EnsureKeys(ctx context.Context) error {
	now := p.now()
	err := p.store.InTx(ctx, func(tx storage.Store) error {
		if err := tx.LockOIDCSigningKeys(ctx); err != nil {
			return err
		}
		keys, err := tx.ListOIDCSigningKeys(ctx, now)
		if err != nil {
			return err
		}
		for _, alg := range p.cfg.KeyAlgorithms {
			var newest time.Time
			for _, k := range keys {
				if k.Algorithm == alg && k.ActiveUntil.After(newest) {
					newest = k.ActiveUntil
				}
			}
			if newest.Sub(now) > p.cfg.KeyRotation/4 {
				continue
			}
			k, err := p.newKey(alg, now)
			if err != nil {
				return err
			}
			if err := tx.CreateOIDCSigningKey(ctx, k); err != nil {
				return err
			}
			p.log.InfoContext(ctx, "oidc: created signing key", "kid", k.ID, "alg", alg, "active_until", k.ActiveUntil)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("oidc: ensure signing keys: %w", err)
	}
	return p.keys.reload(ctx)
}

func (p *Provider) newKey(alg string, now time.Time) (storage.OIDCSigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		priv, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return storage.OIDCSigningKey{}, fmt.Errorf("oidc: unsupported key algorithm %q", alg)
	}
	if err != nil {
		return storage.OIDCSigningKey{}, fmt.Errorf("oidc: generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storage.OIDCSigningKey{}, fmt.Errorf("oidc: encode key: %w", err)
	}
	sealed, err := p.box.Seal(string(der), sealContext)
	if err != nil {
		return storage.OIDCSigningKey{}, err
	}
	jwk := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return storage.OIDCSigningKey{}, fmt.Errorf("oidc: key thumbprint: %w", err)
	}
	// The thumbprint names the key (RFC 7638) and, with the time, stays
	// unique even if a key were ever generated twice.
	sum := sha256.Sum256(fmt.Appendf(thumb, "%d", now.UnixNano()))
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(sum[:16])
	pub, err := json.Marshal(jwk)
	if err != nil {
		return storage.OIDCSigningKey{}, fmt.Errorf("oidc: encode public key: %w", err)
	}
	active := now.Add(p.cfg.KeyRotation)
	return storage.OIDCSigningKey{ID: jwk.KeyID, Algorithm: alg, SealedKey: sealed, PublicJWK: string(pub),
		CreatedAt: now, ActiveUntil: active, ExpiresAt: active.Add(max(keyTail, p.cfg.IDTokenTTL))}, nil
}

// reload reads and unseals every published key.
func (r *keyRing) reload(ctx context.Context) error {
	now := r.p.now()
	recs, err := r.p.store.ListOIDCSigningKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("oidc: load signing keys: %w", err)
	}
	keys := make([]*signingKey, 0, len(recs))
	for _, rec := range recs {
		der, err := r.p.box.Open(rec.SealedKey, sealContext)
		if err != nil {
			return fmt.Errorf("oidc: unseal signing key %s (is secret_key the one it was sealed with?): %w", rec.ID, err)
		}
		k, err := x509.ParsePKCS8PrivateKey([]byte(der))
		if err != nil {
			return fmt.Errorf("oidc: signing key %s: %w", rec.ID, err)
		}
		signer, ok := k.(crypto.Signer)
		if !ok {
			return fmt.Errorf("oidc: signing key %s is not a signer", rec.ID)
		}
		keys = append(keys, &signingKey{id: rec.ID, alg: jose.SignatureAlgorithm(rec.Algorithm), priv: signer,
			createdAt: rec.CreatedAt, activeUntil: rec.ActiveUntil})
	}
	r.mu.Lock()
	r.keys, r.loadedAt = keys, now
	r.mu.Unlock()
	return nil
}

// all returns the published keys, reloading when the copy is old.
func (r *keyRing) all(ctx context.Context) ([]*signingKey, error) {
	r.mu.Lock()
	keys, loaded := r.keys, r.loadedAt
	r.mu.Unlock()
	if keys == nil || r.p.now().Sub(loaded) >= keyReload {
		if err := r.reload(ctx); err != nil {
			return nil, err
		}
		r.mu.Lock()
		keys = r.keys
		r.mu.Unlock()
	}
	return keys, nil
}

// signer returns the key that signs for alg now: the oldest still active,
// so a newly created key is published before it signs.
func (r *keyRing) signer(ctx context.Context, alg string) (*signingKey, error) {
	for attempt := 0; attempt < 2; attempt++ {
		keys, err := r.all(ctx)
		if err != nil {
			return nil, err
		}
		now := r.p.now()
		var best *signingKey
		for _, k := range keys {
			if string(k.alg) == alg && k.activeUntil.After(now) && (best == nil || k.createdAt.Before(best.createdAt)) {
				best = k
			}
		}
		if best != nil {
			return best, nil
		}
		// No key yet (a first start before Run's first pass): make one.
		if err := r.p.EnsureKeys(ctx); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("oidc: no %s signing key", alg)
}
