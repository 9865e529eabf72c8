package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/server"
	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/memory"
)

type noWake struct{}

func (noWake) Wake(context.Context, string) {}

const receiptRollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: web, image: "web:1"}]}}
  strategy: {canary: {steps: [{setWeight: 20}, {pause: {}}]}}
`

// Issue 11.7 and 11.10 through the real API: a command's answer names the command and the
// event cursor its verdict follows, and ?follow=false lists events as JSON.
func TestAPICommandReceiptAndEventList(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	st := memory.New(func() time.Time { return now })
	svc, err := apiservice.New(apiservice.Options{Store: st, Waker: noWake{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Apply(ctx, "test", []byte(receiptRollout)); err != nil {
		t.Fatal(err)
	}
	stored, err := st.AppendEvents(ctx, []store.Event{{Rollout: "web", Time: now, Type: "Normal", Reason: "RolloutCreated", Message: "first"},
		{Rollout: "other", Time: now, Type: "Normal", Reason: "RolloutCreated", Message: "other"}})
	if err != nil || len(stored) != 2 {
		t.Fatal(stored, err)
	}
	ts := httptest.NewServer(server.New(svc, "tok-0123456789abcdef0123456789abcdef", nil).Handler())
	t.Cleanup(ts.Close)
	c := newClient(apiTarget{base: ts.URL, token: "tok-0123456789abcdef0123456789abcdef", source: "test"})

	var reply commandReply
	if err := c.do(ctx, "POST", "/api/v1/rollouts/web/abort", nil, &reply); err != nil {
		t.Fatal(err)
	}
	// The memory store has no LastEventID: the cursor is the rollout's newest event.
	if reply.Accepted != "abort" || len(reply.ID) != 16 || reply.EventsAfter != stored[0].ID {
		t.Errorf("reply %+v: want abort, a 16-hex id, eventsAfter %d", reply, stored[0].ID)
	}
	var v apiservice.RolloutView
	if err := c.do(ctx, "GET", "/api/v1/rollouts/web", nil, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.PendingCommands) != 1 || v.PendingCommands[0].ID != reply.ID {
		t.Errorf("pending commands %+v, want the one with id %s", v.PendingCommands, reply.ID)
	}

	evs, err := c.listEvents(ctx, "web", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Message != "first" {
		t.Errorf("events of web: %+v", evs)
	}
	all, err := c.listEvents(ctx, "", stored[0].ID)
	if err != nil || len(all) != 1 || all[0].Rollout != "other" {
		t.Errorf("events after 1: %+v, %v", all, err)
	}
	if err := c.do(ctx, "GET", "/api/v1/events?follow=false&limit=5000", nil, nil); err == nil || !strings.Contains(err.Error(), "limit \"5000\": must be an integer from 1 to 1000") {
		t.Errorf("limit 5000: %v", err)
	}
}
