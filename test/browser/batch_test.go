package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// bops v1 waits at review, then at decide; v2 renames review to check
// and has no decide. bcall calls bops (its latest version).
const (
	bopsV1 = `{"id":"bops","name":"Batch ops","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"review","name":"Review","type":"userTask","candidateGroups":["managers"]},
 {"id":"decide","name":"Decide","type":"userTask","candidateGroups":["managers"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"review"},{"id":"f2","source":"review","target":"decide"},{"id":"f3","source":"decide","target":"end"}]}`
	bopsV2 = `{"id":"bops","name":"Batch ops","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"check","name":"Check","type":"userTask","candidateGroups":["managers"]},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"check"},{"id":"f2","source":"check","target":"end"}]}`
	bcall = `{"id":"bcall","name":"Calls batch ops","nodes":[
 {"id":"start","type":"startEvent"},
 {"id":"callit","name":"Run batch ops","type":"callActivity","calledElement":"bops"},
 {"id":"end","type":"endEvent"}],
 "edges":[{"id":"f1","source":"start","target":"callit"},{"id":"f2","source":"callit","target":"end"}]}`
)

type listed struct {
	Instances []struct {
		InstanceID        string `json:"instanceId"`
		BusinessKey       string `json:"businessKey"`
		Status            string `json:"status"`
		DefinitionVersion int    `json:"definitionVersion"`
	} `json:"instances"`
	Total int `json:"total"`
}

// deploy sends a workflow as the raw body of POST /api/definitions.
func (s *server) deploy(t *testing.T, ctx context.Context, token, body string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/api/definitions", bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Fatalf("deploy: %s %s", resp.Status, data)
	}
}

func (c *console) startBops(t *testing.T, key string, version int) string {
	t.Helper()
	var in instance
	body := map[string]any{"definitionId": "bops", "businessKey": key, "variables": map[string]any{"n": 1}}
	if version > 0 {
		body["version"] = version
	}
	if err := c.srv.call(c.ctx, c.token, "POST", "/api/runtime/start", body, &in); err != nil {
		t.Fatal(err)
	}
	return in.InstanceID
}

func (c *console) byPrefix(t *testing.T, prefix string) listed {
	t.Helper()
	var l listed
	if err := c.srv.call(c.ctx, c.token, "GET", "/api/runtime/instances?limit=1000&sort=businessKey&order=asc&businessKeyPrefix="+prefix, nil, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestBatchOperationsUI: batch cancel of every instance a filter matches
// (more than a page), a batch moving tokens and a batch migrate of ticked
// rows, each followed on its progress page to the end; modify and migrate from the instance
// page; the call-activity drill-down between parent and child; and what
// a viewer sees.
func TestBatchOperationsUI(t *testing.T) {
	c := newConsole(t)
	c.srv.deploy(t, c.ctx, c.token, bopsV1)
	c.run(t, "BatchCancel", c.batchCancel)
	c.run(t, "BatchMove", c.batchMove)
	c.run(t, "BatchMigrate", c.batchMigrate)
	c.run(t, "ModifyAndMigrateInstance", c.modifyInstance)
	c.run(t, "DrillDown", c.drillDown)
	c.run(t, "Roles", c.roles)
}

func (c *console) batchCancel(t *testing.T, u *ui) {
	for i := range 60 {
		c.startBops(t, fmt.Sprintf("cancel-%02d", i), 0)
	}
	keep := c.startBops(t, "keep-1", 0)
	u.do("list the cancel- instances", chromedp.Navigate(u.srv.url+"/#/instances?businessKeyPrefix=cancel-"))
	u.waitJS("a full page", `document.querySelectorAll('tr[data-instance-id] input.select-row').length === 50 && document.querySelector('#instances-total')?.dataset.total === '60'`)
	u.do("tick the page", chromedp.Click(chromedp.CSS("#select-page")))
	u.waitJS("the bar with 50 selected", `document.querySelector('#batch-selection')?.dataset.count === '50' && !!document.querySelector('#select-all-matching')`)
	u.do("select all matching", chromedp.Click(chromedp.CSS("#select-all-matching")))
	u.waitJS("all selected", `document.querySelector('#batch-selection')?.dataset.count === 'all'`)
	u.do("choose cancel", chromedp.Click(chromedp.CSS(`[data-batch="cancel"]`)))
	u.waitJS("the cancel form", `!!document.querySelector('form.batch-op[data-kind="cancel"]')`)
	u.screenshot("batch-select.png")
	u.do("start it", chromedp.Click(chromedp.CSS("#batch-start")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	if s := u.text("#confirm-dialog"); !strings.Contains(s, "60 instances") {
		t.Errorf("confirmation %q, want it to say 60 instances", s)
	}
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("the progress page", `location.hash.startsWith('#/batches/') && !!document.querySelector('#batch-total')`)
	if total := u.text("#batch-total"); total != "60" {
		t.Errorf("batch total %q, want 60", total)
	}
	u.waitJS("the batch done", `document.querySelector('.page-head .badge')?.dataset.state === 'done' && document.querySelector('#batch-done')?.innerText === '60'`)
	if f := u.text("#batch-failed"); f != "0" {
		t.Errorf("failed %q, want 0", f)
	}
	l := c.byPrefix(t, "cancel-")
	for _, in := range l.Instances {
		if in.Status != "CANCELLED" {
			t.Errorf("%s is %s after the batch", in.BusinessKey, in.Status)
		}
	}
	var kept instance
	if err := u.srv.call(c.ctx, c.token, "GET", "/api/runtime/instance/"+keep, nil, &kept); err != nil || kept.Status != "WAITING" {
		t.Errorf("an instance outside the filter is %s (%v), want WAITING", kept.Status, err)
	}
	// The list of batches shows it.
	u.do("open the batch list", chromedp.Navigate(u.srv.url+"/#/batches"))
	u.waitJS("the batch listed", `document.querySelectorAll('tr[data-batch-id][data-state="done"]').length >= 1`)
}

// batchMove moves the tokens of the ticked page's instances from review
// to decide (a modify batch), with the definition's nodes suggested.
func (c *console) batchMove(t *testing.T, u *ui) {
	for i := 1; i <= 2; i++ {
		c.startBops(t, fmt.Sprintf("move-%d", i), 0)
	}
	u.do("list the move- instances", chromedp.Navigate(u.srv.url+"/#/instances?businessKeyPrefix=move-"))
	u.waitJS("two rows", `document.querySelectorAll('tr[data-instance-id] input.select-row').length === 2`)
	u.do("tick the page and choose move", chromedp.Click(chromedp.CSS("#select-page")), chromedp.Click(chromedp.CSS(`[data-batch="modify"]`)))
	u.waitJS("the nodes suggested", `['review', 'decide'].every(id => document.querySelector('#batch-nodes option[value="' + id + '"]')) && !document.querySelector('#batch-nodes option[value="start"]')`)
	u.do("review to decide", chromedp.SendKeys(chromedp.CSS("#batch-from"), "review"), chromedp.SendKeys(chromedp.CSS("#batch-to"), "decide"),
		chromedp.Click(chromedp.CSS("#batch-start")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	if s := u.text("#confirm-dialog"); !strings.Contains(s, "Move the tokens at review to decide in 2 instances") {
		t.Errorf("confirmation %q", s)
	}
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("the batch done", `location.hash.startsWith('#/batches/') && document.querySelector('.page-head .badge')?.dataset.state === 'done' && document.querySelector('#batch-done')?.innerText === '2'`)
	if s := u.text("#batch-what"); !strings.Contains(s, "cancel review, activate decide") {
		t.Errorf("batch summary %q, want its instructions", s)
	}
	for _, in := range c.byPrefix(t, "move-").Instances {
		var got instance
		if err := u.srv.call(c.ctx, c.token, "GET", "/api/runtime/instance/"+in.InstanceID, nil, &got); err != nil || !slices.Equal(got.CurrentNodeIDs, []string{"decide"}) {
			t.Errorf("%s at %v (%v), want decide", in.BusinessKey, got.CurrentNodeIDs, err)
		}
	}
}

func (c *console) batchMigrate(t *testing.T, u *ui) {
	for i := 1; i <= 3; i++ {
		c.startBops(t, fmt.Sprintf("mig-%d", i), 1)
	}
	ids := c.byPrefix(t, "mig-")
	// mig-3 moves on to decide, which v2 does not have: it is refused.
	if err := u.srv.call(c.ctx, c.token, "POST", "/api/runtime/instance/"+ids.Instances[2].InstanceID+"/modify", map[string]any{
		"instructions": []map[string]any{{"op": "cancel", "node": "review"}, {"op": "activate", "node": "decide"}}}, nil); err != nil {
		t.Fatal(err)
	}
	c.srv.deploy(t, c.ctx, c.token, bopsV2)
	u.do("list the mig- instances", chromedp.Navigate(u.srv.url+"/#/instances?businessKeyPrefix=mig-"))
	u.waitJS("three rows", `document.querySelectorAll('tr[data-instance-id] input.select-row').length === 3`)
	for _, in := range ids.Instances {
		u.do("tick "+in.BusinessKey, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-instance-id=%q] input.select-row`, in.InstanceID))))
	}
	u.waitJS("3 selected", `document.querySelector('#batch-selection')?.dataset.count === '3'`)
	u.do("choose migrate", chromedp.Click(chromedp.CSS(`[data-batch="migrate"]`)))
	u.waitJS("the target versions", `document.querySelector('#batch-target-definition')?.value === 'bops' && !!document.querySelector('#batch-target-version option[value="2"]')`)
	u.do("fill the migration", chromedp.SetValue(chromedp.CSS("#batch-target-version"), "2"),
		chromedp.SendKeys(chromedp.CSS("#batch-mapping"), "review = check"), chromedp.Click(chromedp.CSS("#batch-start")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	if s := u.text("#confirm-dialog"); !strings.Contains(s, "3 instances") || !strings.Contains(s, "bops v2") || !strings.Contains(s, "review → check") {
		t.Errorf("confirmation %q, want 3 instances to bops v2 with the mapping", s)
	}
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("the batch done", `location.hash.startsWith('#/batches/') && document.querySelector('.page-head .badge')?.dataset.state === 'done'`)
	if d, f := u.text("#batch-done"), u.text("#batch-failed"); d != "2" || f != "1" {
		t.Errorf("done %s failed %s, want 2 and 1", d, f)
	}
	u.waitJS("the failure listed", fmt.Sprintf(`!!document.querySelector('.batch-failed tr[data-instance-id=%q]')`, ids.Instances[2].InstanceID))
	if s := u.text(".batch-failed"); !strings.Contains(s, "decide") {
		t.Errorf("failure %q, want the reason naming decide", s)
	}
	u.eval(`window.scrollTo(0, 0)`, nil)
	u.screenshot("batch.png")
	after := c.byPrefix(t, "mig-")
	var versions []int
	for _, in := range after.Instances {
		versions = append(versions, in.DefinitionVersion)
	}
	if !slices.Equal(versions, []int{2, 2, 1}) {
		t.Errorf("versions after the batch %v, want [2 2 1]", versions)
	}
}

func (c *console) modifyInstance(t *testing.T, u *ui) {
	id := c.startBops(t, "mod-1", 1)
	u.do("open mod-1", chromedp.Navigate(u.srv.url+"/#/instances/"+id))
	u.waitJS("the token on review", `!!document.querySelector('.diagram [data-element-id="review"].b-current') && !!document.querySelector('#modify-instance')`)
	u.do("open modify", chromedp.Click(chromedp.CSS("#modify-instance")))
	u.waitJS("the modify panel", `!!document.querySelector('input.modify-cancel[data-node="review"]') && !!document.querySelector('#modify-activate option[value="decide"]')`)
	u.do("move review to decide", chromedp.Click(chromedp.CSS(`input.modify-cancel[data-node="review"]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#modify-activate option[value="decide"]').selected = true`),
		chromedp.Click(chromedp.CSS("#modify-apply")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	if s := u.text("#confirm-dialog"); !strings.Contains(s, "2 changes") || !strings.Contains(s, "cancel the token at Review") || !strings.Contains(s, "start a token at Decide") {
		t.Errorf("confirmation %q, want the two changes", s)
	}
	u.screenshot("instance-modify.png")
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("the token on decide", `!!document.querySelector('.diagram [data-element-id="decide"].b-current') && !document.querySelector('.diagram [data-element-id="review"].b-current')`)
	u.waitJS("the modification in the history", `document.querySelector('li.act-modified .actor')?.innerText === 'by admin' && !document.querySelector('.modify-form')`)

	// A refused modification shows the server's reason in the panel.
	u.do("open modify again", chromedp.Click(chromedp.CSS("#modify-instance")))
	u.waitJS("the panel", `!!document.querySelector('#modify-activate-id')`)
	u.do("start at a node that does not exist", chromedp.SendKeys(chromedp.CSS("#modify-activate-id"), "nowhere"), chromedp.Click(chromedp.CSS("#modify-apply")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("the refusal in the panel", `document.querySelector('.modify-form .alert-error')?.innerText.includes('nowhere')`)
	u.do("close", chromedp.Click(chromedp.CSS("#modify-close")))

	// Migrate from the instance page: mod-2 at review, to v2 with a mapping.
	id2 := c.startBops(t, "mod-2", 1)
	u.do("open mod-2", chromedp.Navigate(u.srv.url+"/#/instances/"+id2))
	u.waitJS("the migrate button", `!!document.querySelector('#migrate-instance')`)
	u.do("open migrate", chromedp.Click(chromedp.CSS("#migrate-instance")))
	u.waitJS("v2 proposed", `document.querySelector('#migrate-version')?.value === '2'`)
	u.do("check without a mapping", chromedp.Click(chromedp.CSS("#migrate-check")))
	u.waitJS("refused, naming review", `document.querySelector('.migrate-report [data-outcome="refused"]')?.innerText.includes('review')`)
	u.do("map review to check", chromedp.SendKeys(chromedp.CSS("#migrate-mapping"), "review = check"), chromedp.Click(chromedp.CSS("#migrate-check")))
	u.waitJS("it can migrate", `!!document.querySelector('.migrate-report [data-outcome="valid"]')`)
	u.do("migrate", chromedp.Click(chromedp.CSS("#migrate-run")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("on v2 at check", `document.querySelector('dl.facts')?.innerText.includes('bops v2') && !!document.querySelector('.diagram [data-element-id="check"].b-current')`)
	u.waitJS("the migration in the history", `document.querySelector('li.act-migrated .actor')?.innerText === 'by admin'`)
}

func (c *console) drillDown(t *testing.T, u *ui) {
	c.srv.deploy(t, c.ctx, c.token, bcall)
	var parent instance
	if err := u.srv.call(c.ctx, c.token, "POST", "/api/runtime/start", map[string]any{"definitionId": "bcall", "businessKey": "parent-1"}, &parent); err != nil {
		t.Fatal(err)
	}
	u.do("open the parent", chromedp.Navigate(u.srv.url+"/#/instances/"+parent.InstanceID))
	u.waitJS("the child listed", `document.querySelectorAll('#child-instances li[data-node="callit"]').length === 1`)
	var child string
	u.eval(`document.querySelector('#child-instances li').dataset.instanceId`, &child)
	u.waitJS("the link on the call activity", fmt.Sprintf(`document.querySelector('.b-ov-link[data-child-of="callit"]')?.getAttribute('href') === %q`, "#/instances/"+child))
	u.do("follow the diagram's link", chromedp.Click(chromedp.CSS(`.b-ov-link[data-child-of="callit"]`)))
	u.waitJS("the child's page", fmt.Sprintf(`location.hash === %q && document.querySelector('#parent-instance')?.dataset.instanceId === %q`, "#/instances/"+child, parent.InstanceID))
	if s := u.text("#parent-instance"); !strings.Contains(s, "callit") || !strings.Contains(s, "bcall") {
		t.Errorf("parent line %q, want the call activity and the definition", s)
	}
	u.waitJS("the child waiting at check", `!!document.querySelector('.diagram [data-element-id="check"].b-current')`)
	u.do("back to the parent", chromedp.Click(chromedp.CSS("#parent-instance a")))
	u.waitJS("the parent's page", fmt.Sprintf(`location.hash === %q && !!document.querySelector('#child-instances')`, "#/instances/"+parent.InstanceID))
}

func (c *console) roles(t *testing.T, u *ui) {
	// The server refuses (a role changed meanwhile): the refusal is shown
	// where the batch was started.
	refusal := `{"title":"Forbidden","status":403,"detail":"starting a batch needs the operator role"}`
	stop := intercept(t, u.ctx, "*/api/runtime/batches", 403, refusal)
	u.do("list keep-", chromedp.Navigate(u.srv.url+"/#/instances?businessKeyPrefix=keep-"))
	u.waitJS("one row", `document.querySelectorAll('tr[data-instance-id] input.select-row').length === 1`)
	u.do("tick and retry", chromedp.Click(chromedp.CSS("tr[data-instance-id] input.select-row")), chromedp.Click(chromedp.CSS(`[data-batch="retry"]`)),
		chromedp.Click(chromedp.CSS("#batch-start")))
	u.waitJS("the confirmation", `document.querySelector('#confirm-dialog')?.open === true`)
	u.do("confirm", chromedp.Click(chromedp.CSS("#confirm-ok")))
	u.waitJS("the refusal", `document.querySelector('.batch-op .alert-error')?.innerText.includes('403')`)
	if s := u.text(".batch-op .alert-error"); !strings.Contains(s, "operator role") {
		t.Errorf("refusal %q, want the server's detail", s)
	}
	if n := stop(); n != 1 {
		t.Errorf("%d batch requests reached the refusal, want 1", n)
	}

	// A viewer sees no selection and no operation buttons, but can follow
	// batches.
	u.signIn("dev-clerk")
	u.do("list instances as a viewer", chromedp.Navigate(u.srv.url+"/#/instances?businessKeyPrefix=mod-"))
	u.waitJS("rows without boxes", `document.querySelectorAll('tr[data-instance-id]').length === 2 && !document.querySelector('input.select-row, #batch-bar, #select-page')`)
	var l listed
	if err := u.srv.call(c.ctx, c.token, "GET", "/api/runtime/instances?businessKey=mod-2", nil, &l); err != nil || len(l.Instances) != 1 {
		t.Fatalf("mod-2: %v %+v", err, l)
	}
	u.do("open an instance as a viewer", chromedp.Navigate(u.srv.url+"/#/instances/"+l.Instances[0].InstanceID))
	u.waitJS("the page without operations", `!!document.querySelector('#instance-status') && !document.querySelector('#modify-instance, #migrate-instance, #cancel-instance')`)
	u.do("batches as a viewer", chromedp.Navigate(u.srv.url+"/#/batches"))
	u.waitJS("the batches", `document.querySelectorAll('tr[data-batch-id]').length >= 2`)
}
