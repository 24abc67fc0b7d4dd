// Package docs holds the design documents; its one test keeps the repository standing alone.
package docs

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var (
	// A Markdown file named anywhere: a path-like token ending in .md.
	mdRef = regexp.MustCompile(`(?:^|[^\w./-])((?:\.\./|\./)*[\w][\w./-]*\.md)\b`)
	// A section of a docs/ page: "docs/design.md §5", "docs/protocol.md §2.3".
	sectionRef = regexp.MustCompile(`docs/([\w-]+\.md) §(\d+(?:\.\d+)?)`)
	// An invariant: "docs/design.md invariant 2", "invariants 1 and 2".
	invariantRef = regexp.MustCompile(`docs/design\.md invariants? (\d+)(?: and (\d+))?`)
	url          = regexp.MustCompile(`[a-z]+://\S+`)
	// Files whose text is checked: code, scripts and documentation.
	checked = regexp.MustCompile(`(\.go|\.md|\.sh|\.proto|\.js|\.mjs|\.lua|\.c|\.h|\.ya?ml)$|(^|/)Makefile$`)
)

// TestCitationsStayInTheRepository fails when a tracked file cites a document that is not in the
// repository (the shared design notes beside it, say), a docs/ page that does not exist, a
// section a docs/ page does not have, or an invariant design.md does not number. A newcomer who
// clones the repository must be able to follow every reference.
func TestCitationsStayInTheRepository(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := trackedFiles(t, root)
	sections := map[string]map[string]bool{}
	sectionsOf := func(page string) map[string]bool {
		if s, ok := sections[page]; ok {
			return s
		}
		s := map[string]bool{}
		b, _ := os.ReadFile(filepath.Join(root, "docs", page))
		for _, m := range regexp.MustCompile(`(?m)^#+ (\d+(?:\.\d+)?)[. ]`).FindAllSubmatch(b, -1) {
			s[string(m[1])] = true
		}
		sections[page] = s
		return s
	}
	design := readFile(t, filepath.Join(root, "docs", "design.md"))
	if i, j := bytes.Index(design, []byte("\n## 3. ")), bytes.Index(design, []byte("\n## 4. ")); i >= 0 && j > i {
		design = design[i:j] // the invariants are the numbered list of §3
	}
	invariants := len(regexp.MustCompile(`(?m)^\d+\. \*\*`).FindAll(design, -1))
	checkedFiles := 0
	for _, f := range files {
		if !checked.MatchString(f) || f == "docs/citations_test.go" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue // a symlink to a build product, or a file deleted in the work tree
		}
		checkedFiles++
		for n, line := range strings.Split(string(b), "\n") {
			line = url.ReplaceAllString(line, "")
			where := f + ":" + strconv.Itoa(n+1)
			for _, m := range mdRef.FindAllStringSubmatch(line, -1) {
				ref := m[1]
				if !exists(root, filepath.Dir(f), ref) {
					t.Errorf("%s cites %s, which is not in the repository: cite docs/ (design.md, protocol.md, wasm-abi.md) or state the fact inline", where, ref)
				}
			}
			for _, m := range sectionRef.FindAllStringSubmatch(line, -1) {
				if !sectionsOf(m[1])[m[2]] {
					t.Errorf("%s cites docs/%s §%s, which has no such section", where, m[1], m[2])
				}
			}
			for _, m := range invariantRef.FindAllStringSubmatch(line, -1) {
				for _, s := range m[1:] {
					if k, err := strconv.Atoi(s); err == nil && (k < 1 || k > invariants) {
						t.Errorf("%s cites invariant %d; docs/design.md numbers %d", where, k, invariants)
					}
				}
			}
		}
	}
	if checkedFiles < 100 || invariants == 0 {
		t.Fatalf("checked %d files and found %d invariants: the test is not reading the repository", checkedFiles, invariants)
	}
}

// TestInvariantsNameTheirTests fails when an invariant of docs/design.md §3 names no test, or names
// a test function that no _test.go file of the repository declares (renamed or deleted).
func TestInvariantsNameTheirTests(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func (Test\w+)\(`)
	for _, f := range trackedFiles(t, root) {
		if !strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		for _, m := range decl.FindAllSubmatch(b, -1) {
			declared[string(m[1])] = true
		}
	}
	design := readFile(t, filepath.Join(root, "docs", "design.md"))
	i, j := bytes.Index(design, []byte("\n## 3. ")), bytes.Index(design, []byte("\n## 4. "))
	if i < 0 || j < i {
		t.Fatal("docs/design.md has no §3 followed by §4")
	}
	items := regexp.MustCompile(`(?m)^\d+\. \*\*`).FindAllIndex(design[i:j], -1)
	if len(items) == 0 {
		t.Fatal("no invariants found in docs/design.md §3")
	}
	named := regexp.MustCompile("`(Test\\w+)`")
	for k, it := range items {
		end := j - i
		if k+1 < len(items) {
			end = items[k+1][0]
		}
		text := design[i+it[0] : i+end]
		tests := named.FindAllSubmatch(text, -1)
		if len(tests) == 0 {
			t.Errorf("invariant %d names no test", k+1)
		}
		for _, m := range tests {
			if !declared[string(m[1])] {
				t.Errorf("invariant %d names %s, which no _test.go declares", k+1, m[1])
			}
		}
	}
}

// exists resolves ref as a path from the repository root or from the citing file's folder.
func exists(root, dir, ref string) bool {
	for _, p := range []string{filepath.Join(root, ref), filepath.Join(root, dir, ref)} {
		if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
			continue // outside the repository
		}
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// trackedFiles lists the repository's files: git's index when there is one, else a walk that
// skips dependencies and build products.
func trackedFiles(t *testing.T, root string) []string {
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output(); err == nil && len(out) > 0 {
		var fs []string
		for _, f := range bytes.Split(bytes.TrimRight(out, "\x00"), []byte{0}) {
			fs = append(fs, string(f))
		}
		return fs
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "build") {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readFile(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
