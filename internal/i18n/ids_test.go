package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pendingIDs lists the files (relative to the repository's root) whose
// messages are still being moved to the catalogue; each is removed from
// here as it is converted. Empty when the move is done.
var pendingIDs = map[string]bool{}

// idForm is what a message ID looks like: dotted lower-case words.
var idForm = regexp.MustCompile(`^[a-z0-9_]+(\.[A-Za-z0-9_]+)+$`)

// A found is a message ID (or, for an ID built at run time, its literal
// prefix) in the source.
type found struct {
	pos    string
	id     string
	prefix bool // the ID goes on at run time ("corr.err.before." + stage)
	call   string
}

// TestSourceUsesCatalogueIDs fails when code passes a message that is not
// in the English catalogue where a message ID belongs: the message of
// apperr.New, apperr.Wrap and apperr.M, a field message of
// apperr.Fields.Add, the Message of an apperr.Error and the ID of an
// apperr.Msg literal, and the ID rendered by s.t(r, id), T(ctx, id),
// i18n.T(ctx, id) and a Localizer's T(id). An ID built at run time must
// start with a literal prefix of some catalogue ID. Templates are
// checked for T(ctx, "id") too.
func TestSourceUsesCatalogueIDs(t *testing.T) {
	c := Shared()
	root := filepath.Join("..", "..")
	var all []found
	checked := 0
	// Go packages: every directory under internal, cmd and web.
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(path, root+string(filepath.Separator)))
		if d.IsDir() {
			if path == root {
				return nil
			}
			top := strings.SplitN(rel, "/", 2)[0]
			if (top != "internal" && top != "cmd" && top != "web") || d.Name() == "testdata" || d.Name() == "node_modules" ||
				strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			names, err := goFiles(path, root)
			if err != nil {
				return err
			}
			for _, f := range names {
				if pendingIDs[f] {
					continue
				}
				checked++
			}
			got, err := idsInPackage(path, root)
			if err != nil {
				return err
			}
			all = append(all, got...)
			return nil
		}
		if strings.HasSuffix(rel, ".templ") && !pendingIDs[rel] {
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			all = append(all, idsInTemplate(rel, string(src))...)
			checked++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 || len(all) == 0 {
		t.Fatalf("checked %d files and found %d message IDs: the walk found nothing", checked, len(all))
	}
	en := c.IDs("en")
	for _, f := range all {
		switch {
		case f.prefix:
			i := sort.SearchStrings(en, f.id)
			if strings.ContainsAny(f.id, " \t\n") || i == len(en) || !strings.HasPrefix(en[i], f.id) {
				t.Errorf("%s: %s builds a message ID from %q, which starts no ID of the English catalogue", f.pos, f.call, f.id)
			}
		case !idForm.MatchString(f.id):
			t.Errorf("%s: %s is given %q, which is text, not a message ID", f.pos, f.call, f.id)
		case !c.Has("en", f.id):
			t.Errorf("%s: %s is given %q, which is not in the English catalogue", f.pos, f.call, f.id)
		}
	}
	for name := range pendingIDs {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Errorf("pendingIDs lists %s, which does not exist", name)
		}
	}
}

// goFiles lists the non-test, hand-written Go files of dir, relative to
// root, with slashes.
func goFiles(dir, root string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") || strings.HasSuffix(n, "_templ.go") {
			continue
		}
		rel, err := filepath.Rel(root, filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// idsInPackage parses the Go files of one directory and returns the
// message IDs given where IDs belong. String constants of the package
// stand for their values.
func idsInPackage(dir, root string) ([]found, error) {
	names, err := goFiles(dir, root)
	if err != nil || len(names) == 0 {
		return nil, err
	}
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	consts := map[string]string{}
	for _, rel := range names {
		f, err := parser.ParseFile(fset, filepath.Join(root, filepath.FromSlash(rel)), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files[rel] = f
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[n.Name] = s
						}
					}
				}
			}
		}
	}
	var out []found
	for rel, f := range files {
		if pendingIDs[rel] {
			continue
		}
		fields := fieldsNames(f)
		add := func(e ast.Expr, call string, allowEmpty bool) {
			pos := fset.Position(e.Pos())
			where := rel + ":" + strconv.Itoa(pos.Line)
			if id, prefix, ok := literalID(e, consts); ok {
				if id == "" && (allowEmpty || prefix) {
					return
				}
				out = append(out, found{pos: where, id: id, prefix: prefix, call: call})
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "T" && len(n.Args) >= 2 {
						add(n.Args[1], "T", false)
					}
					return true
				}
				x, _ := sel.X.(*ast.Ident)
				name := sel.Sel.Name
				switch {
				case x != nil && x.Name == "apperr" && name == "New" && len(n.Args) >= 2:
					add(n.Args[1], "apperr.New", false)
				case x != nil && x.Name == "apperr" && name == "Wrap" && len(n.Args) >= 3:
					add(n.Args[2], "apperr.Wrap", true)
				case x != nil && x.Name == "apperr" && name == "M" && len(n.Args) >= 1:
					add(n.Args[0], "apperr.M", false)
				case x != nil && x.Name == "i18n" && name == "T" && len(n.Args) >= 2:
					add(n.Args[1], "i18n.T", false)
				case x != nil && fields[x.Name] && name == "Add" && len(n.Args) >= 2:
					add(n.Args[1], "apperr.Fields.Add", false)
				case name == "t" && len(n.Args) >= 2:
					add(n.Args[1], "s.t", false)
				case name == "T" && len(n.Args) >= 1 && isStringy(n.Args[0], consts):
					add(n.Args[0], "Localizer.T", false)
				}
			case *ast.CompositeLit:
				switch {
				case isApperr(n.Type, "Error"):
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok && isKey(kv.Key, "Message") {
							add(kv.Value, "apperr.Error{Message}", false)
						}
					}
				case isApperr(n.Type, "Msg"):
					msgLit(n, add)
				}
				if mt, ok := n.Type.(*ast.MapType); ok && isApperr(mt.Value, "Msg") {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if cl, ok := kv.Value.(*ast.CompositeLit); ok && cl.Type == nil {
								msgLit(cl, add)
							}
						}
					}
				}
			}
			return true
		})
	}
	return out, nil
}

// msgLit checks the ID of an apperr.Msg literal.
func msgLit(n *ast.CompositeLit, add func(ast.Expr, string, bool)) {
	for i, el := range n.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if isKey(kv.Key, "ID") {
				add(kv.Value, "apperr.Msg{ID}", false)
			}
		} else if i == 0 {
			add(el, "apperr.Msg{ID}", false)
		}
	}
}

// fieldsNames are the names a file declares as apperr.Fields: variables
// made from an apperr.Fields literal or make, and variables and
// parameters of that type.
func fieldsNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, rhs := range n.Rhs {
				if i >= len(n.Lhs) {
					break
				}
				id, ok := n.Lhs[i].(*ast.Ident)
				if !ok {
					continue
				}
				switch r := rhs.(type) {
				case *ast.CompositeLit:
					if isApperr(r.Type, "Fields") {
						names[id.Name] = true
					}
				case *ast.CallExpr:
					if fn, ok := r.Fun.(*ast.Ident); ok && fn.Name == "make" && len(r.Args) > 0 && isApperr(r.Args[0], "Fields") {
						names[id.Name] = true
					}
				}
			}
		case *ast.ValueSpec:
			if isApperr(n.Type, "Fields") {
				for _, id := range n.Names {
					names[id.Name] = true
				}
			}
			for i, v := range n.Values {
				if cl, ok := v.(*ast.CompositeLit); ok && isApperr(cl.Type, "Fields") && i < len(n.Names) {
					names[n.Names[i].Name] = true
				}
			}
		case *ast.Field:
			if isApperr(n.Type, "Fields") {
				for _, id := range n.Names {
					names[id.Name] = true
				}
			}
		}
		return true
	})
	return names
}

// isApperr reports whether e is the type apperr.<name>.
func isApperr(e ast.Expr, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	return ok && x.Name == "apperr" && sel.Sel.Name == name
}

func isKey(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// isStringy reports whether e is a string literal, a string constant or
// a concatenation starting with one.
func isStringy(e ast.Expr, consts map[string]string) bool {
	_, _, ok := literalID(e, consts)
	return ok
}

// literalID returns the ID e gives when it is a string literal or a
// constant; for a concatenation starting with one, its literal prefix
// (prefix true). ok is false for anything else (a variable, a call).
func literalID(e ast.Expr, consts map[string]string) (id string, prefix, ok bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		s, ok := stringLit(e)
		return s, false, ok
	case *ast.Ident:
		s, ok := consts[e.Name]
		return s, false, ok
	case *ast.ParenExpr:
		return literalID(e.X, consts)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false, false
		}
		left, lp, ok := literalID(e.X, consts)
		if !ok {
			return "", false, false
		}
		if lp {
			return left, true, true
		}
		if right, rp, ok := literalID(e.Y, consts); ok && !rp {
			return left + right, false, true
		}
		return left, true, true
	}
	return "", false, false
}

func stringLit(e ast.Expr) (string, bool) {
	b, ok := e.(*ast.BasicLit)
	if !ok || b.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(b.Value)
	return s, err == nil
}

// templT finds T(ctx, "id") in a template.
var templT = regexp.MustCompile(`\bT\(ctx,\s*("(?:[^"\\]|\\.)*"|` + "`[^`]*`" + `)(\s*\+)?`)

// idsInTemplate returns the IDs a template passes to T.
func idsInTemplate(rel, src string) []found {
	var out []found
	for _, m := range templT.FindAllStringSubmatchIndex(src, -1) {
		lit := src[m[2]:m[3]]
		id, err := strconv.Unquote(lit)
		if err != nil {
			id = lit
		}
		line := 1 + strings.Count(src[:m[0]], "\n")
		prefix := m[4] >= 0 // T(ctx, "stage." + code): the ID goes on at run time
		out = append(out, found{pos: rel + ":" + strconv.Itoa(line), id: id, call: "T", prefix: prefix})
	}
	return out
}
