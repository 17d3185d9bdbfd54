package mcpbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton/internal/engine"
	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/runner"
)

// Limits of MCP tool sources.
const (
	// MaxToolResult bounds the text of one tool result kept in the agent's
	// progress and the history; a longer one is clipped.
	MaxToolResult = 32 << 10
	// maxToolsPerServer bounds the tools one server may offer an agent.
	maxToolsPerServer = 64
	// callTimeout bounds one tool call and one tool listing.
	callTimeout = 2 * time.Minute
)

// ServerConfig is one MCP server an administrator configured for agent
// tasks (BATON_MCP_SERVERS): a command Baton starts and talks to over
// stdio, or a streamable HTTP URL. Definitions name servers; they never
// say how to reach them.
type ServerConfig struct {
	// Command and Args start a local server (stdio).
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args,omitempty"`
	// Env is added to the command's environment ("NAME=value").
	Env []string `json:"env,omitempty"`
	// URL reaches a server over streamable HTTP.
	URL string `json:"url,omitempty"`
	// Headers are sent with every HTTP request (Authorization...).
	Headers map[string]string `json:"headers,omitempty"`
}

var serverName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,32}$`)

// ParseServers reads BATON_MCP_SERVERS: a JSON object of server name to
// ServerConfig.
func ParseServers(data []byte) (map[string]ServerConfig, error) {
	var out map[string]ServerConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("MCP servers: %w", err)
	}
	for name, c := range out {
		switch {
		case !serverName.MatchString(name):
			return nil, fmt.Errorf("MCP server %q: a name is 1 to 32 letters, digits or -", name)
		case (c.Command == "") == (c.URL == ""):
			return nil, fmt.Errorf("MCP server %q: give either command or url", name)
		case c.URL != "" && !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://"):
			return nil, fmt.Errorf("MCP server %q: url %q is not http(s)", name, c.URL)
		}
	}
	return out, nil
}

// Sources connects to the configured MCP servers on first use and keeps
// one session per server; a session that fails is dropped and opened again
// on the next use.
type Sources struct {
	servers map[string]ServerConfig
	version string

	mu       sync.Mutex
	sessions map[string]*mcp.ClientSession
}

// NewSources returns the tool sources of the configured servers.
func NewSources(servers map[string]ServerConfig, version string) *Sources {
	return &Sources{servers: servers, version: version, sessions: map[string]*mcp.ClientSession{}}
}

// Close ends every open session (and stops the commands started).
func (s *Sources) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, cs := range s.sessions {
		errs = append(errs, cs.Close())
		delete(s.sessions, name)
	}
	return errors.Join(errs...)
}

func (s *Sources) session(ctx context.Context, name string) (*mcp.ClientSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cs := s.sessions[name]; cs != nil {
		return cs, nil
	}
	cfg, ok := s.servers[name]
	if !ok {
		return nil, runner.Permanent(fmt.Errorf("MCP server %q is not configured on this server (BATON_MCP_SERVERS)", name))
	}
	var t mcp.Transport
	if cfg.Command != "" {
		// The command lives as long as the session, not as the request
		// that opened it.
		cmd := exec.Command(cfg.Command, cfg.Args...)
		cmd.Env = append(cmd.Environ(), cfg.Env...)
		t = &mcp.CommandTransport{Command: cmd}
	} else {
		t = &mcp.StreamableClientTransport{Endpoint: cfg.URL, MaxRetries: -1,
			HTTPClient: &http.Client{Transport: headers{cfg.Headers, http.DefaultTransport}}}
	}
	c := mcp.NewClient(&mcp.Implementation{Name: "baton", Version: s.version}, nil)
	cs, err := c.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to MCP server %q: %w", name, err)
	}
	s.sessions[name] = cs
	return cs, nil
}

// drop forgets a failed session.
func (s *Sources) drop(name string, cs *mcp.ClientSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[name] == cs {
		delete(s.sessions, name)
		_ = cs.Close()
	}
}

// Tools lists the tools of server as an agent is offered them: named
// SERVER__TOOL, with the server's input schemas. Tools whose names no
// provider accepts are left out.
func (s *Sources) Tools(ctx context.Context, server string) ([]llm.Tool, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	cs, err := s.session(ctx, server)
	if err != nil {
		return nil, err
	}
	var out []llm.Tool
	for tool, err := range cs.Tools(ctx, nil) {
		if err != nil {
			s.drop(server, cs)
			return nil, fmt.Errorf("list the tools of MCP server %q: %w", server, err)
		}
		name := server + model.MCPToolSeparator + tool.Name
		if !toolName.MatchString(name) || len(out) == maxToolsPerServer {
			continue
		}
		schema, err := json.Marshal(tool.InputSchema)
		if err != nil || tool.InputSchema == nil {
			schema = []byte(`{"type":"object"}`)
		}
		desc := tool.Description
		if tool.Title != "" && desc == "" {
			desc = tool.Title
		}
		out = append(out, llm.Tool{Name: name, Description: llm.Clip(desc, 1024) + " (tool of MCP server " + server + ")", InputSchema: schema})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// Handler runs jobs of kind engine.JobMCP: it calls the tool the job's
// locals name and completes the job with {"content", "structured",
// "isError"}. A tool that reports an error completes the job too: the
// agent sees it and decides. A server that cannot be reached is a
// retryable failure.
func (s *Sources) Handler() runner.Handler {
	return runner.HandlerFunc(func(ctx context.Context, j *runner.Job) (map[string]any, error) {
		call, err := mcpCall(j)
		if err != nil {
			return nil, runner.Permanent(err)
		}
		ctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		cs, err := s.session(ctx, call.Server)
		if err != nil {
			return nil, err
		}
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: call.Tool, Arguments: call.Input})
		if err != nil {
			if ctx.Err() == nil {
				s.drop(call.Server, cs)
			}
			return nil, fmt.Errorf("call %s on MCP server %q: %w", call.Tool, call.Server, err)
		}
		return toolResult(res), nil
	})
}

type callSpec struct {
	Server string         `json:"server"`
	Tool   string         `json:"tool"`
	Input  map[string]any `json:"input"`
}

// mcpCall reads the call from the job's locals.
func mcpCall(j *runner.Job) (callSpec, error) {
	var p struct {
		Locals map[string]json.RawMessage `json:"locals"`
	}
	var c callSpec
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return c, fmt.Errorf("job %s: payload: %w", j.ID, err)
	}
	raw, ok := p.Locals[engine.MCPCallKey]
	if !ok {
		return c, fmt.Errorf("job %s at %s carries no MCP call", j.ID, j.NodeID)
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.Server == "" || c.Tool == "" {
		return c, fmt.Errorf("job %s at %s: MCP call %s is not {server, tool, input}", j.ID, j.NodeID, llm.Clip(string(raw), 200))
	}
	return c, nil
}

// toolResult is what the agent's step records of a tool's answer:
// its text (clipped), its structured content when it fits, whether it is
// an error.
func toolResult(res *mcp.CallToolResult) map[string]any {
	var b strings.Builder
	for _, c := range res.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			if b.Len() > 0 {
				b.WriteString("\n")
			}
			b.WriteString(t.Text)
		}
	}
	out := map[string]any{"content": llm.Clip(b.String(), MaxToolResult)}
	if res.StructuredContent != nil {
		if raw, err := json.Marshal(res.StructuredContent); err == nil && len(raw) <= MaxToolResult {
			var v any
			_ = json.Unmarshal(raw, &v)
			out["structured"] = v
		}
	}
	if res.IsError {
		out["isError"] = true
	}
	return out
}

// headers adds fixed headers to every request.
type headers struct {
	h    map[string]string
	next http.RoundTripper
}

func (t headers) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(t.h) > 0 {
		r = r.Clone(r.Context())
		for k, v := range t.h {
			r.Header.Set(k, v)
		}
	}
	return t.next.RoundTrip(r)
}
