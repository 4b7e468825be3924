// Command oneshot is the Go client of the one-process-per-request
// benchmark: one HTTPS POST of a file, then exit, like a CLI that sends one
// telemetry report per run. It takes the proxy from -proxy (or HTTPS_PROXY)
// itself, because http.ProxyFromEnvironment never proxies a loopback host.
package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func main() {
	target := flag.String("url", "", "URL to POST to")
	proxyURL := flag.String("proxy", os.Getenv("HTTPS_PROXY"), "proxy URL (default $HTTPS_PROXY); empty means direct")
	caFile := flag.String("ca", "", "PEM file of the CA to trust")
	bodyFile := flag.String("body", "", "file holding the request body")
	flag.Parse()
	if err := run(*target, *proxyURL, *caFile, *bodyFile); err != nil {
		fmt.Fprintln(os.Stderr, "oneshot:", err)
		os.Exit(1)
	}
}

func run(target, proxyURL, caFile, bodyFile string) error {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("read CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("no certificate in %s", caFile)
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if proxyURL != "" {
		u, err := url.Parse(proxyURL)
		if err != nil {
			return fmt.Errorf("proxy URL %q: %w", proxyURL, err)
		}
		tr.Proxy = http.ProxyURL(u)
	}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, err := c.Post(target, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answer %s", resp.Status)
	}
	return nil
}
