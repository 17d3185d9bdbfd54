package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/batonhq/baton/internal/mcpbridge"
)

// mcpCommand serves Baton's API as MCP tools over standard input and
// output, for an assistant that starts it as a local MCP server.
type mcpCommand struct {
	main *Main
	conn conn
}

func (c *mcpCommand) ParseFlags(ctx context.Context, args []string) error {
	fs := c.main.newFlagSet("mcp", "[--server URL] [--token TOKEN]", `
Serve Baton as a Model Context Protocol server over standard input and
output (newline-delimited JSON-RPC), for an assistant that starts it as a
local MCP server. Its tools (list_definitions, start_instance, find_tasks,
complete_task, get_instance, list_incidents, resolve_incident) call the
server at --server with --token, so they may do what that token may do over
the API. baton serve offers the same tools over streamable HTTP on /mcp.`)
	serverFlag(fs, &c.conn)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErrorf("mcp takes no arguments")
	}
	return nil
}

func (c *mcpCommand) Run(ctx context.Context) error {
	cl, err := newAPIClient(c.conn)
	if err != nil {
		return err
	}
	s := mcpbridge.NewServer(ctx, cl.c, versionString())
	err = s.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(c.main.Stdin), Writer: nopWriteCloser{c.main.Stdout}})
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil // the client closed its end, or we were stopped
	}
	return err
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// loadMCPServers reads the MCP servers of --mcp-servers; nil without one.
func loadMCPServers(path string) (*mcpbridge.Sources, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--mcp-servers: %w", err)
	}
	servers, err := mcpbridge.ParseServers(data)
	if err != nil {
		return nil, fmt.Errorf("--mcp-servers %s: %w", path, err)
	}
	return mcpbridge.NewSources(servers, versionString()), nil
}
