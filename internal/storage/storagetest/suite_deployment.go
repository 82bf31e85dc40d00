package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/storage"
)

var deploymentTests = []namedTest{
	{"UnsetIsNotFound", func(t *testing.T, s storage.Store) {
		if _, err := s.DeploymentSetting(ctxOf(t), storage.DeploymentKeyPublicURL); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("DeploymentSetting before any put: err = %v, want ErrNotFound", err)
		}
	}},
	{"PutReplaces", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		first := storage.DeploymentSetting{Key: storage.DeploymentKeyPublicURL, Value: "http://localhost:8080", UpdatedAt: base}
		if err := s.PutDeploymentSetting(ctx, first); err != nil {
			t.Fatal(err)
		}
		// A second node (or a restart) writes the same key: last write wins.
		second := storage.DeploymentSetting{Key: storage.DeploymentKeyPublicURL, Value: "https://id.example.com", UpdatedAt: base.Add(time.Hour)}
		if err := s.PutDeploymentSetting(ctx, second); err != nil {
			t.Fatalf("second put of the same key: %v", err)
		}
		got, err := s.DeploymentSetting(ctx, storage.DeploymentKeyPublicURL)
		if err != nil {
			t.Fatal(err)
		}
		if got.Value != second.Value || !got.UpdatedAt.Equal(second.UpdatedAt.Truncate(time.Microsecond)) || got.UpdatedAt.Location() != time.UTC {
			t.Fatalf("DeploymentSetting = %+v, want value %q at %v (UTC)", got, second.Value, second.UpdatedAt)
		}
	}},
	{"InTx", func(t *testing.T, s storage.Store) {
		ctx := ctxOf(t)
		boom := errors.New("roll back")
		err := s.InTx(ctx, func(tx storage.Store) error {
			if err := tx.PutDeploymentSetting(ctx, storage.DeploymentSetting{Key: "k", Value: "v", UpdatedAt: base}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if _, err := s.DeploymentSetting(ctx, "k"); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("setting put in a rolled-back transaction is visible: %v", err)
		}
	}},
}
