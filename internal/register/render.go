/*
Copyright 2026 The Fivesafes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package register

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Format is an output format of the register.
type Format string

// Formats.
const (
	FormatMarkdown Format = "markdown"
	FormatHTML     Format = "html"
	FormatJSON     Format = "json"
)

// Formats lists the output formats.
func Formats() []Format { return []Format{FormatMarkdown, FormatHTML, FormatJSON} }

// Render returns the register's files in format f, by relative path: register.md, register.json,
// or index.html with one organisations/<name>.html per organisation.
func Render(reg *Register, f Format) (map[string][]byte, error) {
	var buf bytes.Buffer
	switch f {
	case FormatMarkdown:
		if err := WriteMarkdown(&buf, reg); err != nil {
			return nil, err
		}
		return map[string][]byte{"register.md": buf.Bytes()}, nil
	case FormatJSON:
		if err := WriteJSON(&buf, reg); err != nil {
			return nil, err
		}
		return map[string][]byte{"register.json": buf.Bytes()}, nil
	case FormatHTML:
		return RenderHTML(reg)
	}
	return nil, fmt.Errorf("unknown register format %q (want markdown, html or json)", f)
}

// WriteFiles writes rendered files under dir, creating directories as needed. The register is
// public, so files are world-readable.
func WriteFiles(dir string, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if !filepath.IsLocal(filepath.FromSlash(n)) {
			return fmt.Errorf("writing register: %q is not a local path", n)
		}
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil { //nolint:gosec // public output
			return fmt.Errorf("writing register: %w", err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil { //nolint:gosec // public output
			return fmt.Errorf("writing register: %w", err)
		}
	}
	return nil
}

// WriteJSON writes the register as indented JSON. The flags are the top-level "flags" list.
func WriteJSON(w io.Writer, reg *Register) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(reg); err != nil {
		return fmt.Errorf("writing register JSON: %w", err)
	}
	return nil
}

// FlagTitle says what a flag kind means, in a few words.
func FlagTitle(kind string) string {
	switch kind {
	case FlagMixedOptOuts:
		return "Same dataset, same month, opt-outs both honoured and not honoured"
	case FlagOptOutsNotApplied:
		return "Opt-outs not applied"
	case FlagReleasedAfterEnd:
		return "Released after the agreement ended"
	}
	return kind
}

// mdSpecial are the characters escaped anywhere in Markdown text: those that start emphasis,
// code, links, images, raw HTML, entities, tables, strikethrough and maths.
const mdSpecial = "\\`*_[]{}<>|~!&#$"

// mdEscapeLine escapes one line of text for Markdown, including what would start a block
// (list, heading, quote, rule) at the beginning of a line.
func mdEscapeLine(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			b.WriteByte(' ')
			continue
		}
		if r < 0x80 && strings.ContainsRune(mdSpecial, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	out := b.String()
	if out != "" && strings.ContainsRune("-+=>", rune(out[0])) {
		out = "\\" + out
	}
	// "12." or "3)" at the start would make an ordered list.
	i := 0
	for i < len(out) && out[i] >= '0' && out[i] <= '9' {
		i++
	}
	if i > 0 && i < len(out) && (out[i] == '.' || out[i] == ')') {
		out = out[:i] + "\\" + out[i:]
	}
	return out
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// mdInline escapes text for one line of Markdown (a heading, list item or table cell).
func mdInline(s string) string {
	var parts []string
	for _, l := range splitLines(s) {
		if l = mdEscapeLine(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// mdBlock escapes multi-line text as Markdown paragraphs, keeping its line breaks.
func mdBlock(s string) string {
	lines := splitLines(strings.TrimSpace(s))
	var b strings.Builder
	for i, l := range lines {
		e := mdEscapeLine(l)
		b.WriteString(e)
		if i == len(lines)-1 {
			break
		}
		if e != "" && mdEscapeLine(lines[i+1]) != "" {
			b.WriteString("\\") // hard line break
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// WriteMarkdown writes the register as one Markdown document.
func WriteMarkdown(w io.Writer, reg *Register) error {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# Data release register\n\n")
	if reg.GeneratedAt != nil {
		p("Generated %s.\n\n", reg.GeneratedAt.Format(time.RFC3339))
	}
	s := reg.Summary
	p("%s, %s, %s released in %s.\n\n", plural(s.Organisations, "organisation", "organisations"),
		plural(s.Agreements, "agreement", "agreements"), plural(s.ReleasedFiles, "output", "outputs"),
		plural(s.Releases, "release", "releases"))
	p("## Flags\n\n")
	if len(reg.Flags) == 0 {
		p("No flags.\n\n")
	}
	for _, f := range reg.Flags {
		p("- 🚩 **%s** — %s\n", mdInline(FlagTitle(f.Kind)), mdInline(f.Message))
	}
	if len(reg.Flags) > 0 {
		p("\n")
	}
	for _, w := range reg.Warnings {
		p("> Note: %s\n\n", mdInline(w))
	}
	for _, o := range reg.Organisations {
		p("## %s\n\n", mdInline(o.Name))
		var meta []string
		if o.Code != "" {
			meta = append(meta, "Code: "+mdInline(o.Code))
		}
		if o.Type != "" {
			meta = append(meta, "Data-controller type: "+mdInline(o.Type))
		}
		if len(meta) > 0 {
			p("%s\n\n", strings.Join(meta, " · "))
		}
		for _, f := range reg.Flags {
			if f.org == o.key {
				p("🚩 %s\n\n", mdInline(f.Message))
			}
		}
		for _, a := range o.Agreements {
			p("### %s — %s\n\n", mdInline(a.Reference), mdInline(a.Title))
			p("| | |\n|---|---|\n")
			row := func(k, v string) { p("| %s | %s |\n", k, v) }
			row("Legal basis", mdList(a.LegalBases, "None stated"))
			row("Purposes", mdList(a.Purposes, "None stated"))
			row("Sensitive", mdInline(a.Sensitivity))
			row("When", mdInline(a.Validity.Start)+" to "+mdInline(a.Validity.End))
			row("Access method", mdInline(a.AccessMethod))
			row("Opt-outs honoured", mdInline(a.OptOutsHonoured))
			row("Sublicensing allowed", mdInline(a.Sublicensing))
			if a.Phase != "" {
				row("Status", mdInline(a.Phase))
			}
			if a.Ended != "" {
				row("Ended", mdInline(a.Ended))
			}
			if a.Revocation != "" {
				row("Revoked because", mdInline(a.Revocation))
			}
			row("Released outputs", fmt.Sprintf("%s in %s", plural(a.ReleasedOutputs, "file", "files"), plural(a.Releases, "release", "releases")))
			p("\n#### Datasets\n\n")
			for _, d := range a.Datasets {
				name := mdInline(d.Name)
				if d.Title != "" {
					name = mdInline(d.Title) + " (" + name + ")"
				}
				p("- %s — opt-outs honoured: %s", name, d.OptOutsHonoured)
				if d.OptOutJustification != "" {
					p(" (why not: %s)", mdInline(d.OptOutJustification))
				}
				p("\n")
			}
			p("\n#### Objectives\n\n%s\n\n", mdBlock(a.Objectives))
			if len(a.ExpectedBenefits) > 0 {
				p("#### Expected benefits\n\n")
				for i, x := range a.ExpectedBenefits {
					p("%d. %s\n", i+1, mdInline(x))
				}
				p("\n")
			}
			if len(a.ExpectedOutputs) > 0 {
				p("#### Expected outputs\n\n")
				for i, x := range a.ExpectedOutputs {
					p("%d. %s\n", i+1, mdInline(x))
				}
				p("\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing register Markdown: %w", err)
	}
	return nil
}

func mdList(items []string, none string) string {
	if len(items) == 0 {
		return none
	}
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = mdInline(x)
	}
	return strings.Join(out, "; ")
}

// htmlPage is what the page templates see.
type htmlPage struct {
	Root     string // path from the page to the site root
	Reg      *Register
	Org      *Organisation
	Flags    []htmlFlag
	OrgLinks []htmlOrgLink
}

type htmlFlag struct {
	Flag
	Title string
	Page  string
}

type htmlOrgLink struct {
	Org        *Organisation
	Page       string
	Agreements int
	Flags      int
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"plural": plural,
	"anchor": func(ref string) string { return "agreement-" + slug(ref) },
	"join":   func(xs []string) string { return strings.Join(xs, ", ") },
	"date":   func(t *time.Time) string { return t.Format(time.RFC3339) },
}).Parse(`{{define "flags"}}{{if .}}<ul class="flags">
{{range .}}<li class="flag"><strong>🚩 {{.Title}}</strong><br>{{.Message}}{{if .Page}} <a href="{{.Page}}">{{.Organisation}}</a>{{end}}</li>
{{end}}</ul>{{else}}<p>No flags.</p>{{end}}{{end -}}
{{define "index"}}<h1>Data release register</h1>
{{with .Reg.GeneratedAt}}<p class="muted">Generated {{date .}}.</p>{{end}}
{{with .Reg.Summary}}<p>{{plural .Organisations "organisation" "organisations"}}, {{plural .Agreements "agreement" "agreements"}}, {{plural .ReleasedFiles "output" "outputs"}} released in {{plural .Releases "release" "releases"}}.</p>{{end}}
<h2>Flags</h2>
{{template "flags" .Flags}}
{{range .Reg.Warnings}}<p class="muted">Note: {{.}}</p>
{{end}}<h2>Organisations</h2>
<table>
<tr><th>Organisation</th><th>Agreements</th><th>Flags</th></tr>
{{range .OrgLinks}}<tr><td><a href="{{.Page}}">{{.Org.Name}}</a></td><td>{{.Agreements}}</td><td>{{if .Flags}}🚩 {{.Flags}}{{else}}0{{end}}</td></tr>
{{end}}</table>
{{end -}}
{{define "org"}}<p><a href="{{.Root}}index.html">Data release register</a></p>
<h1>{{.Org.Name}}</h1>
<p class="muted">{{with .Org.Code}}Code: {{.}}. {{end}}{{with .Org.Type}}Data-controller type: {{.}}. {{end}}{{plural (len .Org.Agreements) "agreement" "agreements"}}.</p>
{{if .Flags}}{{template "flags" .Flags}}{{end}}
{{range .Org.Agreements}}<section class="agreement" id="{{anchor .Reference}}">
<h2>{{.Reference}} — {{.Title}}</h2>
<dl>
<dt>Legal basis</dt><dd>{{if .LegalBases}}<ul>{{range .LegalBases}}<li>{{.}}</li>{{end}}</ul>{{else}}None stated{{end}}</dd>
<dt>Purposes</dt><dd>{{if .Purposes}}<ul>{{range .Purposes}}<li>{{.}}</li>{{end}}</ul>{{else}}None stated{{end}}</dd>
<dt>Sensitive</dt><dd>{{.Sensitivity}}</dd>
<dt>When</dt><dd>{{.Validity.Start}} to {{.Validity.End}}</dd>
<dt>Access method</dt><dd>{{.AccessMethod}}</dd>
<dt>Opt-outs honoured</dt><dd>{{.OptOutsHonoured}}</dd>
<dt>Sublicensing allowed</dt><dd>{{.Sublicensing}}</dd>
{{- with .Phase}}<dt>Status</dt><dd>{{.}}</dd>{{end}}
{{- with .Ended}}<dt>Ended</dt><dd>{{.}}</dd>{{end}}
{{- with .Revocation}}<dt>Revoked because</dt><dd>{{.}}</dd>{{end}}
{{- "\n"}}<dt>Released outputs</dt><dd>{{plural .ReleasedOutputs "file" "files"}} in {{plural .Releases "release" "releases"}}</dd>
</dl>
<h3>Datasets</h3>
<table>
<tr><th>Dataset</th><th>Opt-outs honoured</th><th>Why not</th></tr>
{{range .Datasets}}<tr><td>{{with .Title}}{{.}}<br>{{end}}<span class="muted">{{.Name}}</span></td><td>{{.OptOutsHonoured}}</td><td>{{.OptOutJustification}}</td></tr>
{{end}}</table>
<h3>Objectives</h3>
<p class="text">{{.Objectives}}</p>
{{if .ExpectedBenefits}}<h3>Expected benefits</h3>
<ol>{{range .ExpectedBenefits}}<li class="text">{{.}}</li>{{end}}</ol>
{{end}}{{if .ExpectedOutputs}}<h3>Expected outputs</h3>
<ol>{{range .ExpectedOutputs}}<li class="text">{{.}}</li>{{end}}</ol>
{{end}}</section>
{{end}}{{end -}}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src 'none'">
<title>{{if .Org}}{{.Org.Name}} — {{end}}Data release register</title>
<style>
body { font-family: system-ui, sans-serif; line-height: 1.5; max-width: 60rem; margin: 0 auto; padding: 1rem; color: #111; }
h1, h2, h3 { line-height: 1.2; }
section.agreement { border-top: 2px solid #ccc; margin-top: 2rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
dt { font-weight: bold; }
dd { margin: 0; }
dd ul { margin: 0; padding-left: 1.2rem; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
.text { white-space: pre-line; }
.flags li { margin-bottom: 0.5rem; }
.flag { background: #fff3f3; border-left: 4px solid #c00; padding: 0.5rem 1rem; }
.muted { color: #555; }
</style>
</head>
<body>
{{if .Org}}{{template "org" .}}{{else}}{{template "index" .}}{{end}}
</body>
</html>
`))

// RenderHTML returns the register as a static site: index.html and one page per organisation
// under organisations/. The pages use no scripts and no external resources, and every value is
// escaped for its context.
func RenderHTML(reg *Register) (map[string][]byte, error) {
	files := map[string][]byte{}
	pageOf := map[string]string{}
	for i := range reg.Organisations {
		pageOf[reg.Organisations[i].key] = reg.Organisations[i].page
	}
	flagsFor := func(key, root string) []htmlFlag {
		var out []htmlFlag
		for _, f := range reg.Flags {
			if key != "" && f.org != key {
				continue
			}
			hf := htmlFlag{Flag: f, Title: FlagTitle(f.Kind)}
			if key == "" && pageOf[f.org] != "" {
				hf.Page = root + pageOf[f.org]
			}
			out = append(out, hf)
		}
		return out
	}
	index := htmlPage{Root: "", Reg: reg, Flags: flagsFor("", "")}
	for i := range reg.Organisations {
		o := &reg.Organisations[i]
		n := 0
		for _, f := range reg.Flags {
			if f.org == o.key {
				n++
			}
		}
		index.OrgLinks = append(index.OrgLinks, htmlOrgLink{Org: o, Page: o.page, Agreements: len(o.Agreements), Flags: n})
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, index); err != nil {
		return nil, fmt.Errorf("rendering register index: %w", err)
	}
	files["index.html"] = bytes.Clone(buf.Bytes())
	for i := range reg.Organisations {
		o := &reg.Organisations[i]
		if o.page == "" {
			return nil, fmt.Errorf("rendering register: organisation %d has no page (build the register with Build)", i)
		}
		buf.Reset()
		root := strings.Repeat("../", strings.Count(o.page, "/"))
		if err := pageTemplate.Execute(&buf, htmlPage{Root: root, Reg: reg, Org: o, Flags: flagsFor(o.key, root)}); err != nil {
			return nil, fmt.Errorf("rendering register page for organisation %d: %w", i, err)
		}
		files[o.page] = bytes.Clone(buf.Bytes())
	}
	return files, nil
}
