package netwatch_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/telemetry-harness/telemetry-harness/proxy/netwatch"
)

// The tool: resolves the telemetry host, posts to it directly (no proxy), asks
// the proxy for something, and connects straight to a hard-coded address.
const toolScript = `
import http.client, json, socket, ssl, sys, uuid, urllib.request
cafile, proxy_port = sys.argv[1], int(sys.argv[2])
out = {"hostname": socket.gethostname(), "node": uuid.getnode()}
out["addrs"] = sorted({ai[4][0] for ai in socket.getaddrinfo("spire.bugout.dev", 443, proto=socket.IPPROTO_TCP)})
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
    urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=cafile)))
req = urllib.request.Request("https://spire.bugout.dev/humbug/reports", data=b'{"event": "direct"}',
    method="POST", headers={"Content-Type": "application/json"})
with opener.open(req, timeout=5) as r:
    out["direct_status"] = r.status
c = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=5)
c.request("GET", "http://example.invalid/ping")
out["proxy_status"] = c.getresponse().status
s = socket.socket()
s.settimeout(0.3)
try:
    s.connect(("198.51.100.7", 443))
    out["escape"] = "connected"
except OSError as e:
    out["escape"] = type(e).__name__
print(json.dumps(out))
`

type toolReport struct {
	Hostname     string   `json:"hostname"`
	Node         uint64   `json:"node"`
	Addrs        []string `json:"addrs"`
	DirectStatus int      `json:"direct_status"`
	ProxyStatus  int      `json:"proxy_status"`
	Escape       string   `json:"escape"`
}

type received struct {
	host, sni, body string
}

var _ = Describe("a sealed run of a tool that ignores the proxy", Ordered, func() {
	var (
		dir       string
		sb        *netwatch.Sandbox
		report    toolReport
		direct    chan received
		canaryMAC = net.HardwareAddr{0x5c, 0xca, 0x7a, 0x12, 0x34, 0x56}
	)

	BeforeAll(func(ctx SpecContext) {
		requireNamespaces()
		if _, err := exec.LookPath("python3"); err != nil {
			Skip("python3 is needed for the tool: " + err.Error())
		}
		dir = GinkgoT().TempDir()
		caFile, leaf := writeTestCA(dir, "spire.bugout.dev")
		script := filepath.Join(dir, "tool.py")
		Expect(os.WriteFile(script, []byte(toolScript), 0o600)).To(Succeed())

		var err error
		sb, err = netwatch.Start(ctx, netwatch.Options{
			Hostname:   "canary-host-7f3a",
			MAC:        canaryMAC,
			PcapPath:   filepath.Join(dir, "packets.pcapng"),
			DNSLogPath: filepath.Join(dir, "dns.jsonl"),
		})
		Expect(err).NotTo(HaveOccurred(), "starting the sealed namespace")
		DeferCleanup(sb.Close)

		direct = make(chan received, 4)
		https, _ := sb.TransparentListeners()
		tlsSrv := &http.Server{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				direct <- received{host: r.Host, sni: r.TLS.ServerName, body: string(body)}
				w.WriteHeader(http.StatusOK)
			}),
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf}},
		}
		go func() { _ = tlsSrv.ServeTLS(https, "", "") }()
		DeferCleanup(tlsSrv.Close)
		proxySrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
		})}
		go func() { _ = proxySrv.Serve(sb.ProxyListener()) }()
		DeferCleanup(proxySrv.Close)

		stdout, err := os.Create(filepath.Join(dir, "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.Create")
		defer stdout.Close()
		stderr, err := os.Create(filepath.Join(dir, "stderr"))
		Expect(err).NotTo(HaveOccurred(), "os.Create")
		defer stderr.Close()
		proxyPort := sb.ProxyListener().Addr().(*net.TCPAddr).Port
		Expect(sb.Go(netwatch.Command{
			Argv:   []string{"python3", script, caFile, itoa(proxyPort)},
			Env:    []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"},
			Dir:    dir,
			Stdout: stdout, Stderr: stderr,
		})).To(Succeed(), "starting the tool")
		waitErr := sb.Wait()
		errText, _ := os.ReadFile(filepath.Join(dir, "stderr"))
		Expect(waitErr).NotTo(HaveOccurred(), "the tool failed; its stderr:\n%s", errText)
		Expect(sb.Close()).To(Succeed(), "closing the namespace")

		out, err := os.ReadFile(filepath.Join(dir, "stdout"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(json.Unmarshal(out, &report)).To(Succeed(), "the tool's report: %s", out)
	}, NodeTimeout(60*time.Second))

	It("catches the connection to a hard-coded address as an escape", func() {
		Expect(report.Escape).To(Equal("TimeoutError"), "the SYN must be dropped by the sink, never answered")
		Expect(sb.Flows()).To(ContainElement(And(
			HaveField("Kind", netwatch.KindEscape),
			HaveField("Proto", "tcp"),
			HaveField("Server", netip.MustParseAddrPort("198.51.100.7:443")),
			HaveField("SYN", true),
			HaveField("Interface", "sink0"),
		)), "flows:\n%s", flowList(sb.Flows()))
	})

	It("writes the escaping SYN to packets.pcapng, on the sink's interface entry", func() {
		pkts := readPcapng(filepath.Join(dir, "packets.pcapng"))
		Expect(pkts).To(ContainElement(And(
			HaveField("Interface", "sink0"),
			HaveField("Dst", "198.51.100.7:443"),
			HaveField("SYN", true),
		)))
	})

	It("logs the telemetry host's name when the tool resolves it", func() {
		Expect(sb.DNSQueries()).To(ContainElement(And(
			HaveField("Name", "spire.bugout.dev"), HaveField("Type", "A"), HaveField("Answer", "198.18.0.1"),
		)))
		lines, err := os.ReadFile(filepath.Join(dir, "dns.jsonl"))
		Expect(err).NotTo(HaveOccurred(), "os.ReadFile")
		Expect(string(lines)).To(ContainSubstring(`"name":"spire.bugout.dev"`), "dns.jsonl streams every name")
		Expect(sb.Flows()).To(ContainElement(And(
			HaveField("Kind", netwatch.KindDNS), HaveField("Names", ContainElement("spire.bugout.dev/A")),
		)))
		Expect(report.Addrs).To(ContainElement("198.18.0.1"), "every A answer is the transparent address")
	})

	It("lands a direct HTTPS post on the transparent listener", func() {
		Expect(report.DirectStatus).To(Equal(http.StatusOK))
		Expect(direct).To(Receive(Equal(received{host: "spire.bugout.dev", sni: "spire.bugout.dev", body: `{"event": "direct"}`})))
		Expect(sb.Flows()).To(ContainElement(And(
			HaveField("Kind", netwatch.KindTransparent),
			HaveField("Server", WithTransform(netip.AddrPort.Port, Equal(uint16(443)))),
		)))
	})

	It("sorts traffic to the proxy listener as proxy traffic", func() {
		Expect(report.ProxyStatus).To(Equal(http.StatusOK))
		Expect(sb.Flows()).To(ContainElement(And(
			HaveField("Kind", netwatch.KindProxy),
			HaveField("Server", netip.MustParseAddrPort(sb.ProxyListener().Addr().String())),
		)))
	})

	It("shows the tool the canary hostname and MAC", func() {
		Expect(report.Hostname).To(Equal("canary-host-7f3a"))
		Expect(sb.Node()).To(Equal(uint64(0x5cca7a123456)))
		Expect(report.Node).To(Equal(sb.Node()), "uuid.getnode() must return the sink's canary MAC")
	})

	It("leaves nothing unexplained", func() {
		AddReportEntry("flows", flowList(sb.Flows()))
		for _, f := range sb.Flows() {
			Expect(f.Kind).NotTo(Equal(netwatch.KindOther), "flows:\n%s", flowList(sb.Flows()))
		}
	})

	It("routes nothing elsewhere than lo and the sink", func() {
		name, kind := sb.Sink()
		Expect(name).To(Equal("sink0"))
		Expect(kind).To(BeElementOf("dummy", "ifb", "veth"))
		Expect(sb.Routes()).NotTo(BeEmpty())
		for _, r := range sb.Routes() {
			Expect(r).To(Or(HaveSuffix(" dev lo"), HaveSuffix(" dev sink0"), HaveSuffix(" dev sink0p")))
		}
	})

	It("writes a file that tshark reads", func() {
		tshark, err := exec.LookPath("tshark")
		if err != nil {
			Skip("tshark is not installed (apt-get install tshark): " + err.Error())
		}
		out, err := exec.Command(tshark, "-r", filepath.Join(dir, "packets.pcapng"),
			"-T", "fields", "-e", "frame.interface_name", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "dns.qry.name").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "tshark: %s", out)
		Expect(string(out)).To(ContainSubstring("sink0\t198.51.100.7\t443"))
		Expect(string(out)).To(ContainSubstring("spire.bugout.dev"))
	})
})

// pcapPacket is what the specs check of one packet in a pcapng file.
type pcapPacket struct {
	Interface string
	Dst       string
	SYN       bool
}

func readPcapng(path string) []pcapPacket {
	GinkgoHelper()
	pkts, err := readPcapngE(path)
	Expect(err).NotTo(HaveOccurred(), "reading %s", path)
	return pkts
}

func readPcapngE(path string) ([]pcapPacket, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(bufio.NewReader(f), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, err
	}
	var out []pcapPacket
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		intf, err := r.Interface(ci.InterfaceIndex)
		if err != nil {
			return out, err
		}
		p := pcapPacket{Interface: intf.Name}
		pkt := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if ip, ok := pkt.NetworkLayer().(*layers.IPv4); ok {
			if tcp, ok := pkt.TransportLayer().(*layers.TCP); ok {
				p.Dst = net.JoinHostPort(ip.DstIP.String(), itoa(int(tcp.DstPort)))
				p.SYN = tcp.SYN && !tcp.ACK
			}
		}
		out = append(out, p)
	}
}

func flowList(flows []netwatch.Flow) string {
	var b strings.Builder
	for _, f := range flows {
		b.WriteString("  " + f.String() + "\n")
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// writeTestCA makes a throwaway CA and a leaf for host; the tool trusts the
// CA through cafile, the transparent listener serves the leaf.
func writeTestCA(dir, host string) (caFile string, leaf tls.Certificate) {
	GinkgoHelper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred(), "ecdsa.GenerateKey")
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netwatch test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred(), "x509.CreateCertificate")
	ca, err := x509.ParseCertificate(caDER)
	Expect(err).NotTo(HaveOccurred(), "x509.ParseCertificate")
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred(), "ecdsa.GenerateKey")
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred(), "x509.CreateCertificate")
	caFile = filepath.Join(dir, "ca.pem")
	Expect(os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)).To(Succeed())
	return caFile, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}
}

// startCtx bounds a sandbox's setup in the specs.
func startCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
