// Certificates, keys and static tokens for the test control plane.

package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pki holds the paths of everything generated under <dir>/pki.
type pki struct {
	caCert    string // CA certificate (PEM); also the client CA and the root CA kcm publishes
	caPEM     []byte
	servCert  string // kube-apiserver serving certificate, IP SAN 127.0.0.1
	servKey   string
	saKey     string // service-account signing key (EC private key, PEM)
	tokenFile string // --token-auth-file
	// The API server's client certificate towards the kubelet (group system:masters).
	kubeletClientCert string
	kubeletClientKey  string
}

// user is one static-token identity.
type user struct {
	name   string
	groups []string
	token  string
}

// randomToken returns 32 hex characters from crypto/rand.
func randomToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writePEM writes one PEM block with mode 0600.
func writePEM(path, kind string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(k)
	return k, der, err
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// makePKI creates the CA, the serving certificate, the service-account key and the token file.
func makePKI(dir string, users []user) (*pki, error) {
	pdir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pdir, 0o700); err != nil {
		return nil, err
	}
	p := &pki{
		caCert:    filepath.Join(pdir, "ca.crt"),
		servCert:  filepath.Join(pdir, "apiserver.crt"),
		servKey:   filepath.Join(pdir, "apiserver.key"),
		saKey:     filepath.Join(pdir, "sa.key"),
		tokenFile: filepath.Join(pdir, "tokens.csv"),
	}
	// Fresh at every start, so a long window costs nothing; it lets tools/clock-check.sh and
	// one-off sweeps run the test processes a year ahead or behind (libfaketime moves their
	// clock, not this Go binary's) without the certificates looking expired or not yet valid.
	now := time.Now().Add(-400 * 24 * time.Hour)
	const validity = 800 * 24 * time.Hour

	caKey, _, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generating CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "iter8-k8s-testenv-ca"},
		NotBefore:             now,
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing CA certificate: %w", err)
	}
	caParsed, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(p.caCert, p.caPEM, 0o644); err != nil {
		return nil, err
	}

	servKey, servKeyDER, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generating serving key: %w", err)
	}
	servTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now,
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP(serviceIP)},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
	}
	servDER, err := x509.CreateCertificate(rand.Reader, servTmpl, caParsed, &servKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing serving certificate: %w", err)
	}
	if err := writePEM(p.servCert, "CERTIFICATE", servDER); err != nil {
		return nil, err
	}
	if err := writePEM(p.servKey, "EC PRIVATE KEY", servKeyDER); err != nil {
		return nil, err
	}

	p.kubeletClientCert = filepath.Join(pdir, "apiserver-kubelet-client.crt")
	p.kubeletClientKey = filepath.Join(pdir, "apiserver-kubelet-client.key")
	clientKey, clientKeyDER, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generating kubelet client key: %w", err)
	}
	clientTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "kube-apiserver-kubelet-client", Organization: []string{"system:masters"}},
		NotBefore:    now,
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	clientDER, err := x509.CreateCertificate(rand.Reader, clientTmpl, caParsed, &clientKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("signing kubelet client certificate: %w", err)
	}
	if err := writePEM(p.kubeletClientCert, "CERTIFICATE", clientDER); err != nil {
		return nil, err
	}
	if err := writePEM(p.kubeletClientKey, "EC PRIVATE KEY", clientKeyDER); err != nil {
		return nil, err
	}

	_, saDER, err := newKey()
	if err != nil {
		return nil, fmt.Errorf("generating service-account key: %w", err)
	}
	if err := writePEM(p.saKey, "EC PRIVATE KEY", saDER); err != nil {
		return nil, err
	}

	var b strings.Builder
	for i, u := range users {
		// token,user,uid,"group1,group2"
		fmt.Fprintf(&b, "%s,%s,uid-%d,\"%s\"\n", u.token, u.name, i, strings.Join(u.groups, ","))
	}
	if err := os.WriteFile(p.tokenFile, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	return p, nil
}
