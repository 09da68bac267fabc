package main

import (
	"context"
	"fmt"
)

// show renders a saved plan (`plan --out FILE`) as the plan command that
// made it printed it: a pull-request job saves the plan once, and later
// steps print or post it without planning again.
func (a *app) show(_ context.Context, args []string) error {
	fs := a.newFlagSet("show", "show PLANFILE [--format text|markdown|json] [--full-plan-url URL]",
		"groupsync show plan.json --format markdown")
	var format, fullURL string
	fs.StringVar(&format, "format", "text", "output format: text, markdown or json")
	fs.StringVar(&fullURL, "full-plan-url", "", "markdown: link a cut plan to the full plan at `URL` (for example a CI artifact)")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("show takes one saved plan file, got %d arguments\nhint: save one with `groupsync plan -f PATH --out plan.json`", len(pos))
	}
	if format != "text" && format != "markdown" && format != "json" {
		return fmt.Errorf("--format: %q is not text, markdown or json", format)
	}
	p, err := readPlan(pos[0])
	if err != nil {
		return err
	}
	return a.renderPlan(a.stdout, p, format, fullURL)
}
