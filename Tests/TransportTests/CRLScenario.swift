import Foundation

/// A scratch folder (the caller removes it) with a CA (`ca.pem`, `ca.key`), the leaves `good` and
/// `bad` it issued, and an `openssl ca` database; then `script` runs in it with the shell functions
/// `crl ARGS` (`openssl ca -gencrl`), `revoke CERT ARGS` and `t N` (now + N seconds as an openssl
/// time). `ca.cnf` has a `delta` section that makes a delta CRL (`crl -crlexts delta`).
func crlScenario(_ script: String) throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kvitto-crl-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let pki = """
        set -e
        cd "\(dir)"
        mk_ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout $1.key -out $1.pem -days 30 -subj /CN=CRL-CA \\
          -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null; }
        mk_ca ca
        printf 'keyUsage=critical,digitalSignature,keyEncipherment\\n' > ext.cnf
        for n in good bad; do
          openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=$n 2>/dev/null
          openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 10 -extfile ext.cnf 2>/dev/null
        done
        mkdir -p db; : > db/index.txt; echo 01 > db/crlnumber
        printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=db/index.txt\\ncrlnumber=db/crlnumber\\ndefault_md=sha256\\ndefault_crl_days=7\\n[delta]\\n2.5.29.27=critical,DER:02:01:01\\n' > ca.cnf
        now=$(date -u +%s)
        t() { date -u -d @$(( now + $1 )) +%Y%m%d%H%M%SZ; }
        crl() { openssl ca -config ca.cnf -gencrl -keyfile ca.key -cert ca.pem "$@" 2>/dev/null; }
        revoke() { openssl ca -config ca.cnf -keyfile ca.key -cert ca.pem -revoke "$@" 2>/dev/null; }
        """
    let r = try runTool("sh", ["-c", pki + "\n" + script])
    guard r.status == 0 else { throw CRLScenarioFailed(output: r.output) }
    return dir
}

struct CRLScenarioFailed: Error { let output: String }
