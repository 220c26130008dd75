// cli_keygen.cpp — `ip25b keygen`: the key pair an ISP signs its feed with.
//
// Writes a minisign-compatible public key (to publish and to give receivers)
// and an unencrypted secret key readable by its owner only. Existing files
// are never overwritten: replacing a key by accident would cut off every
// receiver that pinned the old one.
#include "ip25b/cli.hpp"
#include "ip25b/feed_signature.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace ip25b::cli {

namespace {

bool write_exclusive(const std::string& path, const std::string& text, mode_t mode) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        std::fprintf(stderr, "ip25b keygen: %s: %s\n", path.c_str(), std::strerror(errno));
        return false;
    }
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    if (!ok) std::fprintf(stderr, "ip25b keygen: %s: %s\n", path.c_str(), std::strerror(errno));
    ::close(fd);
    return ok;
}

} // namespace

void add_keygen_command(CLI::App& app, int& exit_code) {
    struct Options {
        std::string secret = "ip25b-feed.key";
        std::string pub = "ip25b-feed.pub";
    };
    auto opt = std::make_shared<Options>();
    CLI::App* cmd = app.add_subcommand(
        "keygen", "Create the Ed25519 key pair a feed is signed with (minisign format)");
    cmd->add_option("-s,--secret-key", opt->secret, "secret key file to create (mode 0600)")
        ->capture_default_str();
    cmd->add_option("-p,--public-key", opt->pub, "public key file to create")
        ->capture_default_str();
    cmd->callback([opt, &exit_code] {
        auto kp = generate_feed_key();
        if (::access(opt->secret.c_str(), F_OK) == 0 || ::access(opt->pub.c_str(), F_OK) == 0) {
            std::fprintf(stderr, "ip25b keygen: %s or %s exists; refusing to replace a key\n",
                         opt->secret.c_str(), opt->pub.c_str());
            exit_code = 1;
            return;
        }
        if (!write_exclusive(opt->secret, format_secret_key_file(kp.sec), 0600) ||
            !write_exclusive(opt->pub, format_public_key_file(kp.pub), 0644)) {
            exit_code = 1;
            return;
        }
        std::printf("key id:     %s\npublic key: %s\n", kp.pub.id_hex().c_str(),
                    kp.pub.to_base64().c_str());
        std::fprintf(stderr,
                     "ip25b keygen: wrote %s (keep it offline) and %s (give it to receivers: "
                     "their [[feeds]] public_key)\n",
                     opt->secret.c_str(), opt->pub.c_str());
        exit_code = 0;
    });
}

} // namespace ip25b::cli
