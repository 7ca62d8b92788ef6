// Package static embeds the stylesheet, scripts and vendored htmx, and
// serves them under fingerprinted names so that browsers can cache them for
// a year and still pick up a new release at once.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed *.css *.js
var files embed.FS

type asset struct {
	name    string // fingerprinted name, e.g. app.3f2a9c1b.css
	body    []byte
	gzipped []byte // nil when compression does not pay
	ctype   string
}

type catalogue struct {
	byName  map[string]*asset // original name -> asset
	byPrint map[string]*asset // fingerprinted name -> asset
}

var load = sync.OnceValue(func() *catalogue {
	c := &catalogue{byName: map[string]*asset{}, byPrint: map[string]*asset{}}
	entries, _ := fs.ReadDir(files, ".")
	for _, e := range entries {
		body, err := files.ReadFile(e.Name())
		if err != nil {
			continue
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(e.Name())
		a := &asset{
			name:  strings.TrimSuffix(e.Name(), ext) + "." + hex.EncodeToString(sum[:])[:10] + ext,
			body:  body,
			ctype: mime.TypeByExtension(ext),
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		if buf.Len() < len(body)*9/10 {
			a.gzipped = buf.Bytes()
		}
		c.byName[e.Name()] = a
		c.byPrint[a.name] = a
	}
	return c
})

// Path returns the URL of the named file (e.g. "app.css"), fingerprinted.
func Path(name string) string {
	if a, ok := load().byName[name]; ok {
		return "/static/" + a.name
	}
	return "/static/" + name
}

// Handler serves /static/{name}; it expects the prefix already stripped.
// Fingerprinted names are cached for a year; plain names are served too
// (briefly cached) so that an old page still finds its files.
func Handler() http.Handler {
	modTime := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		c := load()
		a, fingerprinted := c.byPrint[name]
		if !fingerprinted {
			a = c.byName[name]
		}
		if a == nil {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		if fingerprinted {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=300")
		}
		h.Set("Content-Type", a.ctype)
		h.Add("Vary", "Accept-Encoding")
		body := a.body
		if a.gzipped != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			h.Set("Content-Encoding", "gzip")
			body = a.gzipped
		}
		http.ServeContent(w, r, a.name, modTime, bytes.NewReader(body))
	})
}
