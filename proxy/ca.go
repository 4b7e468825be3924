package proxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File names inside the private CA folder.
const (
	caCertName = "ca.pem"
	bundleName = "bundle.pem"
	certDirSub = "certs"
)

// Validity windows. Short on purpose: the CA only has to outlive one
// recording session, and a leaked harness CA should be worthless soon.
const (
	caValidity   = 7 * 24 * time.Hour
	leafValidity = 3 * 24 * time.Hour
	// clockSkew backdates certificates so a client whose clock is slightly
	// behind still accepts them.
	clockSkew = time.Hour
)

// systemBundles are the usual places of the system trust store as one PEM
// file (the list Go's crypto/x509 uses on Linux and the BSDs). The CA
// variables of the environment are ignored on purpose: they may point at
// another harness's bundle.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
	"/etc/ssl/ca-bundle.pem",                            // OpenSUSE
	"/etc/pki/tls/cacert.pem",                           // OpenELEC
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
	"/etc/ssl/cert.pem",                                 // Alpine, macOS, BSD
}

// authority is the per-session CA: its key never leaves the private folder
// and the process.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	tlsCert tls.Certificate
	dir     string
	// subjectHash is OpenSSL's X509_NAME_hash of the CA subject, the name
	// of its link in an SSL_CERT_DIR folder.
	subjectHash string
}

// newAuthority creates a fresh ECDSA P-256 CA in a new 0700 folder under
// parent and writes ca.pem, bundle.pem and certs/. The private key stays
// in this process's memory: no file holds it, so a harness killed before
// it can clean up (SIGKILL) leaves only public certificates behind.
func newAuthority(parent string) (*authority, error) {
	dir, err := os.MkdirTemp(parent, "certs-")
	if err != nil {
		return nil, fmt.Errorf("create CA folder: %w", err)
	}
	a, err := writeAuthority(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return a, nil
}

func writeAuthority(dir string) (*authority, error) {
	// MkdirTemp already makes 0700; chmod guards against an odd umask.
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("protect CA folder %s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	id := make([]byte, 4)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("generate CA name: %w", err)
	}
	// Lower case, single spaces: the value is already in OpenSSL's canonical
	// form, which keeps subjectHash simple (see opensslNameHash).
	// Nothing in it names the harness: the tool can read the bundle.
	cn := "local root ca " + hex.EncodeToString(id)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})

	a := &authority{
		cert:        cert,
		key:         key,
		tlsCert:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert},
		dir:         dir,
		subjectHash: opensslNameHash(cn),
	}
	if err := os.WriteFile(a.certFile(), certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write CA certificate: %w", err)
	}
	var bundle bytes.Buffer
	if sys := systemRoots(); len(sys) > 0 {
		bundle.Write(sys)
		if !bytes.HasSuffix(sys, []byte("\n")) {
			bundle.WriteByte('\n')
		}
	}
	bundle.WriteString("# telemetry-harness session CA\n")
	bundle.Write(certPEM)
	if err := os.WriteFile(a.bundleFile(), bundle.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("write CA bundle: %w", err)
	}
	if err := os.Mkdir(a.certDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create cert dir: %w", err)
	}
	// OpenSSL looks certificates up in SSL_CERT_DIR by <subject hash>.0;
	// a copy instead of a link keeps the folder self-contained.
	if err := os.WriteFile(filepath.Join(a.certDir(), a.subjectHash+".0"), certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write cert dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(a.certDir(), caCertName), certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write cert dir: %w", err)
	}
	return a, nil
}

func (a *authority) certFile() string   { return filepath.Join(a.dir, caCertName) }
func (a *authority) bundleFile() string { return filepath.Join(a.dir, bundleName) }
func (a *authority) certDir() string    { return filepath.Join(a.dir, certDirSub) }

// systemRoots returns the first system PEM bundle found, or nil.
func systemRoots() []byte {
	for _, p := range systemBundles {
		b, err := os.ReadFile(p)
		if err == nil && len(b) > 0 {
			return b
		}
	}
	return nil
}

func randomSerial() (*big.Int, error) {
	s, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return s.Add(s, big.NewInt(1)), nil
}

// sign makes a leaf certificate for host (a DNS name or an IP literal),
// ECDSA P-256 like the CA: an RSA leaf would cost ~100 ms of key generation.
func (a *authority) sign(host string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate leaf key for %s: %w", host, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.Add(leafValidity)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign leaf for %s: %w", host, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse leaf for %s: %w", host, err)
	}
	return &tls.Certificate{
		Certificate: [][]byte{der, a.cert.Raw},
		PrivateKey:  key,
		Leaf:        leaf,
	}, nil
}

// certStore caches leaf certificates per host name. It implements goproxy's
// CertStorage; concurrent first requests for one host share one signing.
type certStore struct {
	mu    sync.Mutex
	certs map[string]*leafEntry
}

type leafEntry struct {
	once sync.Once
	cert *tls.Certificate
	err  error
}

func newCertStore() *certStore { return &certStore{certs: map[string]*leafEntry{}} }

// Fetch returns the cached leaf for hostname or makes one with gen.
func (s *certStore) Fetch(hostname string, gen func() (*tls.Certificate, error)) (*tls.Certificate, error) {
	s.mu.Lock()
	e, ok := s.certs[hostname]
	if !ok {
		e = &leafEntry{}
		s.certs[hostname] = e
	}
	s.mu.Unlock()
	e.once.Do(func() { e.cert, e.err = gen() })
	if e.err != nil {
		// Do not cache failures: the next handshake may succeed.
		s.mu.Lock()
		if s.certs[hostname] == e {
			delete(s.certs, hostname)
		}
		s.mu.Unlock()
	}
	return e.cert, e.err
}

// opensslNameHash computes OpenSSL's X509_NAME_hash (the "subject_hash"
// used for SSL_CERT_DIR file names) of a subject holding only a CommonName
// whose value is already canonical (lower case, no leading, trailing or
// repeated spaces): the first four bytes, little endian, of SHA-1 over the
// DER of the name's RDN SET with the value as UTF8String and without the
// outer SEQUENCE.
func opensslNameHash(canonicalCN string) string {
	type atv struct {
		Type  asn1.ObjectIdentifier
		Value string `asn1:"utf8"`
	}
	rdn := []atv{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: canonicalCN}}
	der, err := asn1.MarshalWithParams(rdn, "set")
	if err != nil {
		// Marshalling a fixed structure of an OID and a string cannot
		// fail; an empty hash only costs the cert dir its lookup name.
		return "00000000"
	}
	sum := sha1.Sum(der)
	return fmt.Sprintf("%08x", binary.LittleEndian.Uint32(sum[:4]))
}
