package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/batonhq/baton/internal/llm"
	"github.com/batonhq/baton/internal/llm/anthropic"
	"github.com/batonhq/baton/internal/llm/openai"
)

// llmProvider builds the LLM provider from the environment (docs/llm.md):
// BATON_LLM_PROVIDER = anthropic | openai | none (default none: LLM
// gateways fall back to their conditions, default flow or a person);
// ANTHROPIC_API_KEY / OPENAI_API_KEY, BATON_LLM_BASE_URL (OpenAI-compatible
// servers such as Ollama, vLLM, llama.cpp), BATON_LLM_MODEL,
// BATON_LLM_MAX_TOKENS, BATON_LLM_TIMEOUT (Go duration),
// BATON_LLM_INSTANCE_BUDGET (tokens per instance; 0: none). API keys come
// from the environment only.
func llmProvider(client *http.Client) (llm.Provider, string, int, int, error) {
	model := os.Getenv("BATON_LLM_MODEL")
	maxTokens, err := envInt("BATON_LLM_MAX_TOKENS", 0)
	if err != nil {
		return nil, "", 0, 0, err
	}
	budget, err := envInt("BATON_LLM_INSTANCE_BUDGET", 0)
	if err != nil {
		return nil, "", 0, 0, err
	}
	var timeout time.Duration
	if v := os.Getenv("BATON_LLM_TIMEOUT"); v != "" {
		if timeout, err = time.ParseDuration(v); err != nil {
			return nil, "", 0, 0, fmt.Errorf("BATON_LLM_TIMEOUT: %v", err)
		}
	}
	switch p := os.Getenv("BATON_LLM_PROVIDER"); p {
	case "", "none":
		return llm.None{}, model, maxTokens, budget, nil
	case "anthropic":
		prov, err := anthropic.New(anthropic.Options{APIKey: os.Getenv("ANTHROPIC_API_KEY"), BaseURL: os.Getenv("BATON_LLM_BASE_URL"),
			Model: model, MaxTokens: maxTokens, Timeout: timeout, HTTPClient: client})
		return prov, model, maxTokens, budget, err
	case "openai":
		prov, err := openai.New(openai.Options{APIKey: os.Getenv("OPENAI_API_KEY"), BaseURL: os.Getenv("BATON_LLM_BASE_URL"),
			Model: model, MaxTokens: maxTokens, Timeout: timeout, HTTPClient: client})
		return prov, model, maxTokens, budget, err
	default:
		return nil, "", 0, 0, fmt.Errorf("BATON_LLM_PROVIDER=%s: want anthropic, openai or none", strconv.Quote(p))
	}
}
