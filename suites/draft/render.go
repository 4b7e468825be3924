package draft

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/telemetry-harness/telemetry-harness/suites/policy"
)

// render writes the policy as YAML with the draft's comments: evidence and
// probable leaks above each field, other destinations above the endpoint.
// Encoding the model (rather than printing text) keeps the draft in the
// shape the loader reads; comments ride on the encoded nodes.
func render(p *policy.Policy, res *Result, inf *inferrer) ([]byte, error) {
	// yaml.v3 writes a string that starts with a newline as a block
	// scalar it cannot read back ("|4" then a blank line): file contents
	// are encoded as placeholders and put back double-quoted.
	cp := *p
	cp.Scenarios = slices.Clone(p.Scenarios)
	contents := map[string]string{}
	for i := range cp.Scenarios {
		cp.Scenarios[i].Files = slices.Clone(cp.Scenarios[i].Files)
		for j := range cp.Scenarios[i].Files {
			key := fmt.Sprintf("DRAFT-CONTENT-%d-%d", i, j)
			contents[key] = cp.Scenarios[i].Files[j].Content
			cp.Scenarios[i].Files[j].Content = key
		}
	}
	var doc yaml.Node
	if err := doc.Encode(&cp); err != nil {
		return nil, fmt.Errorf("draft: encode policy: %w", err)
	}
	flow(&doc)
	restore(&doc, contents)

	head := []string{
		"yaml-language-server: $schema=" + policy.SchemaID,
		"",
		fmt.Sprintf("DRAFT policy for %s, written by `telemetry-harness init` from %d recorded run(s).", p.Tool.Name, len(inf.in.Dirs)),
		"It describes what the tool SENT, not what it PROMISES: replace every TODO with",
		"the words of the tool's published telemetry page, drop the fields the page does",
		"not document (the run then reports them), and read every PROBABLE LEAK below.",
		"Then: telemetry-harness run --policy THIS_FILE --tool \"...\"",
	}
	if len(res.Leaks) > 0 {
		head = append(head, "", fmt.Sprintf("%d planted value(s) were seen in what the tool sent:", len(res.Leaks)))
		for _, l := range res.Leaks {
			head = append(head, fmt.Sprintf("  %s (%d request(s))", l, l.Requests))
		}
	}
	if len(inf.notes) > 0 {
		head = append(head, "", "Notes:")
		for _, n := range inf.notes {
			head = append(head, "  - "+n)
		}
	}
	root := &doc // Node.Encode gives the mapping itself, no document node
	root.HeadComment = strings.Join(head, "\n")

	if len(res.Others) > 0 {
		lines := []string{
			"Other requests seen (not the endpoint below). If one is not telemetry (a",
			"version check, a registry), declare it under other_traffic with the reason",
			"and the evidence; until then the destination clause reports it:",
			"other_traffic:",
		}
		for _, o := range res.Others {
			lines = append(lines, fmt.Sprintf("  - {name: TODO, host: %s, path: %s, methods: [%s], reason: TODO}  # %d request(s)",
				o.Host, o.Path, o.Method, o.Requests))
		}
		keyNode(root, "endpoint").HeadComment = strings.Join(lines, "\n")
	}
	// Leaks outside the body (headers, URL) go above the endpoint's
	// headers; body leaks above the field that holds them.
	var outside []string
	fieldLeaks := map[string][]string{}
	for _, l := range res.Leaks {
		path := fieldFor(l.Path, inf.drafted)
		if path == "" {
			outside = append(outside, l.String())
			continue
		}
		fieldLeaks[path] = append(fieldLeaks[path], l.String())
	}
	if len(outside) > 0 {
		if ep := valueNode(root, "endpoint"); ep != nil {
			keyNode(ep, "headers").HeadComment = strings.Join(outside, "\n")
		}
	}
	if fields := valueNode(root, "fields"); fields != nil {
		for i, item := range fields.Content {
			if i >= len(inf.drafted) {
				break
			}
			f := inf.drafted[i]
			lines := append([]string{f.evidence}, fieldLeaks[f.field.Path]...)
			item.HeadComment = strings.Join(lines, "\n")
		}
	}
	if cl := valueNode(root, "clauses"); cl != nil {
		keyNode(root, "clauses").HeadComment = "The clauses every policy needs. Replace each promise with the page's words\n" +
			"(quote: the sentence itself, section: where it is), and add the page's other\n" +
			"promises: ids (id-salted), errors (forbidden-patterns), server-side ones."
	}

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("draft: write policy: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("draft: write policy: %w", err)
	}
	return b.Bytes(), nil
}

// fieldFor is the path of the drafted field that holds a leak: the field
// at the leak's path, else its nearest enclosing field; "" outside the body.
func fieldFor(path string, fs []fieldInfo) string {
	if strings.HasPrefix(path, "header:") {
		for _, f := range fs {
			if strings.EqualFold(f.field.Path, path) {
				return f.field.Path
			}
		}
		return ""
	}
	if !strings.HasPrefix(path, "$") || strings.Contains(path, " ") {
		return ""
	}
	for p := path; p != "$" && p != ""; {
		for _, f := range fs {
			if f.field.Path == p {
				return p
			}
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	return ""
}

// flow writes lists of scalars on one line ([a, b]) as hand-written
// policies do.
func flow(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		scalars := true
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || strings.Contains(c.Value, "\n") {
				scalars = false
			}
		}
		if scalars {
			n.Style = yaml.FlowStyle
		}
	}
	for _, c := range n.Content {
		flow(c)
	}
}

// restore puts the placeholders' strings back, double-quoted.
func restore(n *yaml.Node, contents map[string]string) {
	if n.Kind == yaml.ScalarNode {
		if c, ok := contents[n.Value]; ok {
			n.Value, n.Style = c, yaml.DoubleQuotedStyle
		}
	}
	for _, c := range n.Content {
		restore(c, contents)
	}
}

func keyNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i]
		}
	}
	return &yaml.Node{}
}

func valueNode(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
