package api

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strings"

	"github.com/dunglas/httpsfv"

	"github.com/actorweave/actorweave/ans104"
)

// RFC 9421 HTTP message signatures as @permaweb/ao-core-libs sends them (signing-format httpsig):
// Signature-Input names a label (http-sig-<hex>), the covered components (the request's field
// headers, sorted) and the parameters alg="rsa-pss-sha512" and keyid=<base64url RSA modulus>;
// Signature holds the RSA-PSS SHA-512 signature of the signature base (RFC 9421 §2.5).
//
// The structured fields are parsed and serialized with github.com/dunglas/httpsfv (RFC 9651); the
// signature base is built here, since no maintained RFC 9421 Go module is on the module proxy this
// project uses (yaronf/httpsign, remitly-oss/httpsig-go and common-fate/httpsig are not served by it).

// hasHTTPSig reports whether a request carries RFC 9421 signature headers.
func hasHTTPSig(r *http.Request) bool {
	return r.Header.Get("Signature") != "" || r.Header.Get("Signature-Input") != ""
}

// maxHTTPSigLabels bounds how many signatures one request may carry.
const maxHTTPSigLabels = 4

// verifyHTTPSig verifies every signature of the request and returns the signer's address. It
// restricts r.Header to the covered fields (plus the transport's own), so that an unsigned header
// cannot pose as a request field.
func (s *Server) verifyHTTPSig(w http.ResponseWriter, r *http.Request) (string, error) {
	inputs, err := httpsfv.UnmarshalDictionary(r.Header.Values("Signature-Input"))
	if err != nil {
		return "", badRequest("Signature-Input is not a structured dictionary: " + err.Error())
	}
	sigs, err := httpsfv.UnmarshalDictionary(r.Header.Values("Signature"))
	if err != nil {
		return "", badRequest("Signature is not a structured dictionary: " + err.Error())
	}
	labels := inputs.Names()
	if len(labels) == 0 || len(labels) > maxHTTPSigLabels {
		return "", badRequest(fmt.Sprintf("a request carries 1 to %d signatures, not %d", maxHTTPSigLabels, len(labels)))
	}
	var body []byte
	if r.Body != nil {
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.cfg.Limits.MaxItemBytes))); err != nil {
			return "", &apiError{msg: fmt.Sprintf("body over the %d-byte limit", s.cfg.Limits.MaxItemBytes), kind: ErrTooLarge}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	signer := ""
	covered := map[string]bool{}
	for _, label := range labels {
		addr, fields, err := verifyOneHTTPSig(r, label, inputs, sigs)
		if err != nil {
			return "", err
		}
		if signer != "" && addr != signer {
			return "", badRequest("the request's signatures are by different keys (" + signer + ", " + addr + ")")
		}
		signer = addr
		for _, f := range fields {
			covered[f] = true
		}
	}
	if covered["content-digest"] {
		if err := checkContentDigest(r.Header.Get("Content-Digest"), body); err != nil {
			return "", err
		}
	} else if len(body) > 0 {
		return "", badRequest("the request has a body but its signature does not cover a content-digest")
	}
	for name := range r.Header {
		l := strings.ToLower(name)
		if !covered[l] && l != "signature" && l != "signature-input" && !transportHeader[l] {
			r.Header.Del(name)
		}
	}
	return signer, nil
}

// transportHeader are headers the transport sets, kept whether signed or not (not request fields).
var transportHeader = map[string]bool{
	"content-length": true, "accept": true, "accept-encoding": true, "accept-language": true, "connection": true,
	"user-agent": true, "host": true, "sec-fetch-mode": true, "content-type": true,
}

func verifyOneHTTPSig(r *http.Request, label string, inputs, sigs *httpsfv.Dictionary) (string, []string, error) {
	m, _ := inputs.Get(label)
	il, ok := m.(httpsfv.InnerList)
	if !ok {
		return "", nil, badRequest("Signature-Input " + label + " is not an inner list of components")
	}
	sm, ok := sigs.Get(label)
	if !ok {
		return "", nil, badRequest("Signature has no value for the label " + label + " of Signature-Input")
	}
	si, ok := sm.(httpsfv.Item)
	sig, ok2 := si.Value.([]byte)
	if !ok || !ok2 {
		return "", nil, badRequest("Signature " + label + " is not a byte sequence")
	}
	alg, _ := il.Params.Get("alg")
	if alg != nil && alg != "rsa-pss-sha512" {
		return "", nil, badRequest(fmt.Sprintf("signature algorithm %v is not supported (rsa-pss-sha512 is)", alg))
	}
	keyid, _ := il.Params.Get("keyid")
	kid, _ := keyid.(string)
	kid = strings.TrimPrefix(kid, "publickey:")
	n, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(kid, "="))
	if err != nil || len(n) < 256 || len(n) > 1024 {
		return "", nil, badRequest("signature keyid must be the signer's RSA modulus, base64url (256 to 1024 bytes)")
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	base, fields, err := signatureBase(r, il)
	if err != nil {
		return "", nil, err
	}
	h := sha512.Sum512(base)
	if err := rsa.VerifyPSS(pub, crypto.SHA512, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return "", nil, fmt.Errorf("%w: HTTP signature %s does not verify against its keyid", ans104.ErrBadSignature, label)
	}
	return ans104.Address(ans104.SigArweave, n), fields, nil
}

// signatureBase builds the RFC 9421 signature base of r for the covered components of il and
// returns the header fields it covers (lower case).
func signatureBase(r *http.Request, il httpsfv.InnerList) ([]byte, []string, error) {
	var b strings.Builder
	var fields []string
	for _, it := range il.Items {
		name, ok := it.Value.(string)
		if !ok || name == "" {
			return nil, nil, badRequest("a covered component is not a string")
		}
		if it.Params != nil && len(it.Params.Names()) > 0 {
			return nil, nil, badRequest("covered component parameters (" + name + ";...) are not supported")
		}
		var v string
		switch name {
		case "@method":
			v = r.Method
		case "@path":
			v = r.URL.EscapedPath()
		case "@query":
			v = "?" + r.URL.RawQuery
		case "@authority":
			v = strings.ToLower(r.Host)
		case "@scheme":
			v = "http"
		case "@target-uri":
			v = "http://" + r.Host + r.URL.RequestURI()
		case "@request-target":
			v = r.URL.RequestURI()
		default:
			if strings.HasPrefix(name, "@") {
				return nil, nil, badRequest("derived component " + name + " is not supported")
			}
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				return nil, nil, badRequest("covered header " + name + " is not in the request")
			}
			for i := range vals {
				vals[i] = strings.TrimSpace(vals[i])
			}
			v = strings.Join(vals, ", ")
			fields = append(fields, strings.ToLower(name))
		}
		fmt.Fprintf(&b, "%q: %s\n", name, v)
	}
	params, err := httpsfv.Marshal(httpsfv.List{il})
	if err != nil {
		return nil, nil, badRequest("Signature-Input cannot be serialized: " + err.Error())
	}
	fmt.Fprintf(&b, "\"@signature-params\": %s", params)
	return []byte(b.String()), fields, nil
}

// checkContentDigest verifies a Content-Digest (RFC 9530) sha-256 member against the body.
func checkContentDigest(header string, body []byte) error {
	d, err := httpsfv.UnmarshalDictionary([]string{header})
	if err != nil {
		return badRequest("Content-Digest is not a structured dictionary: " + err.Error())
	}
	m, ok := d.Get("sha-256")
	it, ok2 := m.(httpsfv.Item)
	want, ok3 := it.Value.([]byte)
	if !ok || !ok2 || !ok3 {
		return badRequest("Content-Digest has no sha-256 byte sequence")
	}
	got := sha256.Sum256(body)
	if !bytes.Equal(got[:], want) {
		return badRequest("Content-Digest does not match the body (a signed body must be sent whole)")
	}
	return nil
}
