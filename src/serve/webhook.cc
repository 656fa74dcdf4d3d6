#include "serve/webhook.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netdb.h>

#include <cstring>
#include <optional>
#include <regex>

namespace plinth {
namespace {

bool PrivateV4(uint32_t a) {  // host byte order
  const uint8_t b0 = a >> 24, b1 = (a >> 16) & 0xff;
  return b0 == 127 || b0 == 10 || b0 == 0 || (b0 == 169 && b1 == 254) ||
         (b0 == 172 && b1 >= 16 && b1 < 32) || (b0 == 192 && b1 == 168) ||
         (b0 == 100 && b1 >= 64 && b1 < 128);
}

bool PrivateAddress(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    return PrivateV4(ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr));
  }
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a) ||
        (a.s6_addr[0] & 0xfe) == 0xfc) {
      return true;
    }
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      uint32_t v4;
      std::memcpy(&v4, a.s6_addr + 12, 4);
      return PrivateV4(ntohl(v4));
    }
    return false;
  }
  return true;
}

}  // namespace

StatusOr<int> PostWebhook(const std::string& url, const Json& body, const WebhookOptions& options) {
  static const std::regex kUrl(
      R"(^(https?)://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?(/[^\s]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) {
    return absl::InvalidArgumentError("webhook url: expected http(s)://host[:port]/path, got '" +
                                      url.substr(0, 200) + "'");
  }
  const std::string scheme = m[1].str();
  std::string host = m[2].str();
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int port = m[3].matched ? std::stoi(m[3].str()) : (scheme == "https" ? 443 : 80);
  const std::string path = m[4].matched ? m[4].str() : "/";
  if (!options.allow_private) {
    if (host == "localhost") {
      return absl::PermissionDeniedError("webhook url: " + host +
                                         " is a private address (set "
                                         "PLINTH_ALLOW_PRIVATE_WEBHOOKS=1 to allow)");
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
      return absl::UnavailableError("webhook url: cannot resolve " + host);
    }
    bool blocked = false;
    for (addrinfo* p = res; p != nullptr; p = p->ai_next) blocked |= PrivateAddress(p->ai_addr);
    freeaddrinfo(res);
    if (blocked) {
      return absl::PermissionDeniedError("webhook url: " + host +
                                         " resolves to a private address (set "
                                         "PLINTH_ALLOW_PRIVATE_WEBHOOKS=1 to allow)");
    }
  }
  const auto seconds = options.timeout.count() / 1000;
  const auto micros = (options.timeout.count() % 1000) * 1000;
  const std::string text = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  auto configure = [&](auto& client) {
    client.set_connection_timeout(seconds, micros);
    client.set_read_timeout(seconds, micros);
    client.set_write_timeout(seconds, micros);
    return client.Post(path, text, "application/json");
  };
  std::optional<httplib::Result> result;
  if (scheme == "https") {
    httplib::SSLClient client(host, port);
    result.emplace(configure(client));
  } else {
    httplib::Client client(host, port);
    result.emplace(configure(client));
  }
  httplib::Result& r = *result;
  if (!r) {
    return absl::UnavailableError("webhook " + scheme + "://" + host + ":" + std::to_string(port) +
                                  ": " + httplib::to_string(r.error()));
  }
  return r->status;
}

}  // namespace plinth
