package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// completion prints a shell completion script. The commands and each
// command's flags come from the commands themselves (their --help), so the
// scripts cannot fall behind them.
func (a *app) completion(ctx context.Context, args []string) error {
	fs := a.newFlagSet("completion", "completion bash|zsh|fish",
		"source <(groupsync completion bash)")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("completion takes one shell: bash, zsh or fish\nhint: source <(groupsync completion bash)")
	}
	cmds := a.completionCommands(ctx)
	switch pos[0] {
	case "bash":
		writeBash(a.stdout, cmds)
	case "zsh":
		writeZsh(a.stdout, cmds)
	case "fish":
		writeFish(a.stdout, cmds)
	default:
		return fmt.Errorf("completion: %q is not bash, zsh or fish", pos[0])
	}
	return nil
}

// compCommand is one command as the completion scripts know it.
type compCommand struct {
	name, summary string
	flags         []compFlag
	words         []string // positional words: state's subcommands, the shells
}

// compFlag is one flag of a command.
type compFlag struct {
	name   string
	value  bool     // takes a value
	values []string // the values it takes, when a short list
	files  bool     // takes a file name
	usage  string
}

// flagLine is a flag in a FlagSet's PrintDefaults: "  -name type".
var flagLine = regexp.MustCompile(`^  -(\S+)( \S.*)?$`)

// completionCommands runs every command's --help into a buffer and reads
// its flags back.
func (a *app) completionCommands(ctx context.Context) []compCommand {
	var out []compCommand
	for _, c := range commands() {
		var buf bytes.Buffer
		sub := &app{stdin: strings.NewReader(""), stdout: &buf, stderr: io.Discard, getenv: func(string) (string, bool) { return "", false }}
		if err := c.run(sub, ctx, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
			continue // a command without --help: complete its name only
		}
		cc := compCommand{name: c.name, summary: c.summary}
		lines := strings.Split(buf.String(), "\n")
		for i, l := range lines {
			m := flagLine.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			f := compFlag{name: m[1], value: m[2] != ""}
			if i+1 < len(lines) {
				f.usage = strings.TrimSpace(lines[i+1])
			}
			f.values = flagValues(c.name, f.name)
			f.files = f.value && f.values == nil && strings.Contains(strings.ToLower(m[2]), "file")
			cc.flags = append(cc.flags, f)
		}
		switch c.name {
		case "state":
			cc.words = []string{"list", "runs", "show", "import", "forget", "resolve"}
		case "completion":
			cc.words = []string{"bash", "zsh", "fish"}
		}
		out = append(out, cc)
	}
	return out
}

// flagValues are the values a flag takes, when they are a short list.
func flagValues(cmd, flag string) []string {
	switch {
	case flag == "log-format":
		return []string{"text", "json"}
	case flag != "format":
		return nil
	case cmd == "validate":
		return []string{"text", "github"}
	case cmd == "state":
		return []string{"text", "json"}
	}
	return []string{"text", "markdown", "json"}
}

// dash is how a flag is written: -f for a one-letter name, --name else.
func dash(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

func commandNames(cmds []compCommand) string {
	names := make([]string, len(cmds))
	for i, c := range cmds {
		names[i] = c.name
	}
	return strings.Join(names, " ")
}

func writeBash(w io.Writer, cmds []compCommand) {
	var b strings.Builder
	b.WriteString(`# bash completion for groupsync. Load it in this shell:
#   source <(groupsync completion bash)
# or for every shell: groupsync completion bash > /etc/bash_completion.d/groupsync
_groupsync() {
  local cur prev cmd flags words
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev=""
  [[ $COMP_CWORD -gt 0 ]] && prev="${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -le 1 ]]; then
    COMPREPLY=($(compgen -W "` + commandNames(cmds) + ` --help --version" -- "$cur"))
    return 0
  fi
  cmd="${COMP_WORDS[1]}"
  flags=""
  words=""
  case "$cmd" in
`)
	for _, c := range cmds {
		var fl, values, files []string
		for _, f := range c.flags {
			fl = append(fl, dash(f.name))
			if f.values != nil {
				values = append(values, "    "+dash(f.name)+"|-"+f.name+`) COMPREPLY=($(compgen -W "`+strings.Join(f.values, " ")+`" -- "$cur")); return 0 ;;`)
			}
			if f.files {
				files = append(files, dash(f.name), "-"+f.name)
			}
		}
		fmt.Fprintf(&b, "    %s)\n      flags=%q\n      words=%q\n", c.name, strings.Join(fl, " "), strings.Join(c.words, " "))
		if len(values) > 0 || len(files) > 0 {
			b.WriteString("      case \"$prev\" in\n")
			for _, v := range values {
				b.WriteString("    " + v + "\n")
			}
			if len(files) > 0 {
				b.WriteString("        " + strings.Join(dedupe(files), "|") + `) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;` + "\n")
			}
			b.WriteString("      esac\n")
		}
		b.WriteString("      ;;\n")
	}
	b.WriteString(`  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [[ -n "$words" && $COMP_CWORD -eq 2 ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
  return 0
}
complete -o filenames -F _groupsync groupsync
`)
	io.WriteString(w, b.String())
}

func writeZsh(w io.Writer, cmds []compCommand) {
	var b strings.Builder
	b.WriteString(`#compdef groupsync
# zsh completion for groupsync. Load it in this shell:
#   source <(groupsync completion zsh)
# or put it in your $fpath as _groupsync.
_groupsync() {
  local -a cmds flags
  cmds=(
`)
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s\n", zshQuote(c.name+":"+c.summary))
	}
	b.WriteString(`  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'groupsync command' cmds
    return
  fi
  case ${words[2]} in
`)
	for _, c := range cmds {
		fmt.Fprintf(&b, "    %s)\n      case ${words[CURRENT-1]} in\n", c.name)
		var files []string
		for _, f := range c.flags {
			if f.values != nil {
				fmt.Fprintf(&b, "        %s|-%s) compadd -- %s; return ;;\n", dash(f.name), f.name, strings.Join(f.values, " "))
			}
			if f.files {
				files = append(files, dash(f.name), "-"+f.name)
			}
		}
		if len(files) > 0 {
			fmt.Fprintf(&b, "        %s) _files; return ;;\n", strings.Join(dedupe(files), "|"))
		}
		b.WriteString("      esac\n      flags=(")
		for i, f := range c.flags {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(zshQuote(dash(f.name) + ":" + f.usage))
		}
		b.WriteString(")\n")
		b.WriteString("      if [[ ${words[CURRENT]} == -* ]]; then _describe -t flags 'flag' flags; return; fi\n")
		if len(c.words) > 0 {
			fmt.Fprintf(&b, "      if (( CURRENT == 3 )); then compadd -- %s; return; fi\n", strings.Join(c.words, " "))
		}
		b.WriteString("      ;;\n")
	}
	b.WriteString(`  esac
  _files
}
if [[ ${funcstack[1]} == _groupsync ]]; then
  _groupsync "$@"
else
  compdef _groupsync groupsync
fi
`)
	io.WriteString(w, b.String())
}

// zshQuote single-quotes s for zsh, colons in the description escaped for
// _describe (the first colon separates the word from it).
func zshQuote(s string) string {
	word, desc, _ := strings.Cut(s, ":")
	desc = strings.ReplaceAll(desc, ":", `\:`)
	return "'" + strings.ReplaceAll(word+":"+desc, "'", `'\''`) + "'"
}

func writeFish(w io.Writer, cmds []compCommand) {
	var b strings.Builder
	b.WriteString(`# fish completion for groupsync. Load it in this shell:
#   groupsync completion fish | source
# or: groupsync completion fish > ~/.config/fish/completions/groupsync.fish
complete -c groupsync -f
complete -c groupsync -n __fish_use_subcommand -l help -d 'show the commands'
complete -c groupsync -n __fish_use_subcommand -l version -d 'print the version'
`)
	for _, c := range cmds {
		fmt.Fprintf(&b, "complete -c groupsync -n __fish_use_subcommand -a %s -d %s\n", c.name, fishQuote(c.summary))
	}
	for _, c := range cmds {
		cond := fishQuote("__fish_seen_subcommand_from " + c.name)
		for _, f := range c.flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-o " + f.name
			}
			extra := ""
			switch {
			case f.values != nil:
				extra = " -x -a " + fishQuote(strings.Join(f.values, " "))
			case f.files:
				extra = " -r -F"
			case f.value:
				extra = " -x"
			}
			fmt.Fprintf(&b, "complete -c groupsync -n %s %s%s -d %s\n", cond, opt, extra, fishQuote(f.usage))
		}
		if len(c.words) > 0 {
			fmt.Fprintf(&b, "complete -c groupsync -n %s -a %s\n", cond, fishQuote(strings.Join(c.words, " ")))
		}
	}
	io.WriteString(w, b.String())
}

// fishQuote single-quotes s for fish.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, "'", `\'`).Replace(s) + "'"
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
