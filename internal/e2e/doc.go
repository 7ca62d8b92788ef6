// Package e2e holds the end-to-end tests: the real server, on its own
// database loaded with the demo data, driven by headless Chromium through
// the DevTools protocol (chromedp).
//
// The tests need DATABASE_URL (a PostgreSQL superuser URL, as for every
// database test) and Chromium (/usr/bin/chromium or chromium on PATH;
// `apt-get install -y chromium`); without Chromium they skip (in CI, with
// CI=true, they fail instead). Each browser fails its test on a JavaScript
// error, a failed or 5xx request, or a request to any host other than the
// test server. Full-page screenshots of
// every step go to testdata/screenshots/ (git-ignored).
//
//	go test -race -count=1 ./internal/e2e/ -v
package e2e
