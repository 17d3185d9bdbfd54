package rest

import (
	"context"
	"fmt"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/batonhq/baton"
	"github.com/batonhq/baton/internal/store"
)

const instancesDoc = "Searches instances, one page at a time, with the total count of matches. " +
	"Filters combine with AND: definition (and version), status, business key (exact, or by prefix), started and ended time ranges " +
	"(from inclusive, before exclusive, RFC 3339), an open incident present or not, text in an open incident's message, and conditions on " +
	"variables (var, repeatable): `amount > 1000`, `customer.id = \"C-7\"` (a dotted path, =, !=, <, <=, >, >= and a JSON literal). " +
	"Numbers compare as numbers and strings as strings; a variable of another type does not match, except for != which matches wherever the " +
	"variable does not hold the value. Sorted by sort (default createdAt), newest first unless order=asc; sort=endedAt lists ended instances only. " +
	"Pass next as after for the next page, with the same filter and order."

type instancesInput struct {
	Status            string    `query:"status" enum:"RUNNING,WAITING,COMPLETED,FAILED,CANCELLED"`
	DefinitionID      string    `query:"definitionId"`
	DefinitionVersion int       `query:"definitionVersion" minimum:"0" doc:"With definitionId: only this version."`
	BusinessKey       string    `query:"businessKey" doc:"Exact business key."`
	BusinessKeyPrefix string    `query:"businessKeyPrefix" doc:"Business keys that start with this (case-sensitive)."`
	StartedFrom       time.Time `query:"startedFrom" doc:"Started at or after this time (RFC 3339)."`
	StartedBefore     time.Time `query:"startedBefore" doc:"Started before this time (RFC 3339)."`
	EndedFrom         time.Time `query:"endedFrom" doc:"Ended at or after this time (RFC 3339)."`
	EndedBefore       time.Time `query:"endedBefore" doc:"Ended before this time (RFC 3339)."`
	Incident          string    `query:"incident" enum:"true,false," doc:"true: only instances with an open incident; false: only those without."`
	Error             string    `query:"error" maxLength:"200" doc:"Text in the message of an open incident (ASCII case ignored)."`
	Var               []string  `query:"var,explode" maxItems:"10" doc:"A condition on a variable, such as amount > 1000 or customer.id = \"C-7\"; repeat for more."`
	Sort              string    `query:"sort" enum:"createdAt,updatedAt,endedAt,status,definitionId,businessKey,id," doc:"Field to sort by (default createdAt)."`
	Order             string    `query:"order" enum:"asc,desc," doc:"Sort direction (default desc: newest first)."`
	After             string    `query:"after" doc:"Page cursor: the next value of the previous page."`
	Limit             int       `query:"limit" minimum:"1" maximum:"1000" doc:"Page size (default 100)."`

	query store.InstanceQuery
}

// Resolve reads the variable conditions and the cursor, naming the
// parameter that is wrong.
func (in *instancesInput) Resolve(huma.Context) []error {
	q := store.InstanceQuery{
		DefinitionVersion: in.DefinitionVersion, BusinessKeyPrefix: in.BusinessKeyPrefix,
		StartedFrom: in.StartedFrom, StartedBefore: in.StartedBefore, EndedFrom: in.EndedFrom, EndedBefore: in.EndedBefore,
		ErrorText: in.Error, Sort: store.InstanceSort(in.Sort), Desc: in.Order != "asc",
	}
	if q.Sort == "" {
		q.Sort = store.SortCreated
	}
	if in.Incident != "" {
		has := in.Incident == "true"
		q.HasIncident = &has
	}
	var errs []error
	if in.DefinitionVersion > 0 && in.DefinitionID == "" {
		errs = append(errs, &huma.ErrorDetail{Location: "query.definitionVersion", Message: "needs definitionId", Value: in.DefinitionVersion})
	}
	for i, v := range in.Var {
		c, err := store.ParseVarCond(v)
		if err != nil {
			errs = append(errs, &huma.ErrorDetail{Location: fmt.Sprintf("query.var[%d]", i), Message: err.Error(), Value: v})
			continue
		}
		q.Vars = append(q.Vars, c)
	}
	for _, r := range []struct {
		loc          string
		from, before time.Time
	}{{"query.startedBefore", in.StartedFrom, in.StartedBefore}, {"query.endedBefore", in.EndedFrom, in.EndedBefore}} {
		if !r.from.IsZero() && !r.before.IsZero() && !r.from.Before(r.before) {
			errs = append(errs, &huma.ErrorDetail{Location: r.loc, Message: "must be after the range's from", Value: r.before})
		}
	}
	if in.After != "" {
		c, err := q.ParseCursor(in.After)
		if err != nil {
			errs = append(errs, &huma.ErrorDetail{Location: "query.after", Message: err.Error(), Value: in.After})
		}
		q.Cursor = c
	}
	in.query = q
	return errs
}

func (s *server) listInstances(ctx context.Context, in *instancesInput) (*instancesOutput, error) {
	limit := page(in.Limit)
	f := store.InstanceFilter{Status: in.Status, DefinitionID: in.DefinitionID, BusinessKey: in.BusinessKey, Limit: limit, InstanceQuery: in.query}
	rows, err := s.store().Instances(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	total, err := s.store().CountInstances(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	out := &instancesOutput{Body: baton.InstanceList{Instances: make([]baton.InstanceSummary, 0, len(rows)), Total: total}}
	for _, row := range rows {
		out.Body.Instances = append(out.Body.Instances, toSummary(row))
	}
	if len(rows) == limit {
		out.Body.Next = f.CursorOf(rows[len(rows)-1])
	}
	return out, nil
}

type instancesOutput struct {
	Body baton.InstanceList
}
