package batontest_test

import (
	"net/http"
	"testing"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/batontest"
)

// TestServerLifecycle: the server answers while the test runs and is gone
// after its cleanup.
func TestServerLifecycle(t *testing.T) {
	var url string
	t.Run("inner", func(t *testing.T) {
		srv := batontest.MustStartServer(t)
		url = srv.URL
		var h baton.Health
		srv.MustDo(t, http.MethodGet, "/readyz", nil, &h, http.StatusOK)
		if h.Status != "ok" {
			t.Errorf("readyz = %+v", h)
		}
	})
	if resp, err := http.Get(url + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("server at %s still answers after its test ended", url)
	}
}
