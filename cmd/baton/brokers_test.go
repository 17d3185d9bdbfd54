package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadBrokers(t *testing.T) {
	write := func(body string) string {
		p := filepath.Join(t.TempDir(), "brokers.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("TEST_RMQ_PASSWORD", "s3cret")
	conns, err := readBrokers(write(`{"brokers":[
 {"name":"rmq","kind":"amqp","url":"amqp://127.0.0.1:5672/","username":"guest","passwordEnv":"TEST_RMQ_PASSWORD","messageTTL":"0s"},
 {"name":"js","kind":"nats","url":"nats://127.0.0.1:4222","ackWait":"5s"},
 {"name":"mq","kind":"mqtt","url":"tcp://127.0.0.1:1883"}]}`), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(conns) != 3 || conns[0].MessageTTL != 0 || conns[1].MessageTTL != time.Hour || conns[2].Dialer == nil {
		t.Errorf("connections = %+v", conns)
	}
	for name, tc := range map[string]struct{ body, msg string }{
		"unknown kind":   {`{"brokers":[{"name":"k","kind":"kafka","url":"x://y"}]}`, `brokers[0] ("k"): kind: "kafka" is not a broker kind`},
		"secret not set": {`{"brokers":[{"name":"r","kind":"amqp","url":"amqp://h/","passwordEnv":"TEST_NOT_SET_ANYWHERE"}]}`, "passwordEnv: environment variable TEST_NOT_SET_ANYWHERE is not set"},
		"unknown field":  {`{"brokers":[{"name":"r","kind":"amqp","url":"amqp://h/","password":"plain"}]}`, `unknown field "password"`},
		"bad ttl":        {`{"brokers":[{"name":"r","kind":"amqp","url":"amqp://h/","messageTTL":"soon"}]}`, "messageTTL"},
		"no url":         {`{"brokers":[{"name":"r","kind":"nats"}]}`, "url: missing"},
		"bad nats url":   {`{"brokers":[{"name":"r","kind":"nats","url":"http://h"}]}`, "want nats://"},
	} {
		_, err := readBrokers(write(tc.body), time.Hour)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.msg)
		}
	}
}
