#include "support/openssl_cli.h"

#include <stdexcept>

#include "support/process.h"

namespace signet::test {

std::string openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions options;
  options.timeout_seconds = 60;
  const ProcessResult r = run_process(argv, options);
  if (r.exit_code != 0) {
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    throw std::runtime_error("`" + line + "` failed (exit " + std::to_string(r.exit_code) +
                             "): " + r.err);
  }
  return r.out;
}

OpensslChain make_openssl_chain(const std::filesystem::path& dir) {
  OpensslChain c{dir / "root.key",         dir / "root.pem", dir / "intermediate.key",
                 dir / "intermediate.pem", dir / "leaf.key", dir / "leaf.pem"};
  for (const auto* key : {&c.root_key, &c.intermediate_key, &c.leaf_key}) {
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
             key->string()});
  }
  openssl({"req", "-new", "-x509", "-key", c.root_key.string(), "-subj", "/O=Signet Tests/CN=Test Root CA",
           "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign", "-out", c.root_cert.string()});
  openssl({"req", "-new", "-x509", "-key", c.intermediate_key.string(), "-CA", c.root_cert.string(),
           "-CAkey", c.root_key.string(), "-subj", "/O=Signet Tests/CN=Test Intermediate CA", "-days",
           "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
           "keyUsage=critical,keyCertSign,cRLSign", "-out", c.intermediate_cert.string()});
  openssl({"req", "-new", "-x509", "-key", c.leaf_key.string(), "-CA", c.intermediate_cert.string(),
           "-CAkey", c.intermediate_key.string(), "-subj", "/CN=leaf.example", "-days", "30",
           "-addext", "basicConstraints=critical,CA:FALSE", "-addext",
           "keyUsage=critical,digitalSignature", "-out", c.leaf_cert.string()});
  return c;
}

}  // namespace signet::test
