package main

import (
	"github.com/batonhq/baton/internal/model"
	"github.com/batonhq/baton/internal/model/bpmn"
)

// calledIn resolves a call activity's process among the processes of the
// BPMN file data (nil for a workflow JSON file): a simulation runs the
// called process where the file defines it.
func calledIn(file string, data []byte) func(id string) *model.Definition {
	if model.DetectFormat(data) != model.FormatBPMN {
		return nil
	}
	return func(id string) *model.Definition {
		d, err := bpmn.ParseOne(file, data, id)
		if err != nil {
			return nil
		}
		return d
	}
}
