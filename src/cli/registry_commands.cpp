#include "cli/registry_commands.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/progress.hpp"
#include "images/push.hpp"
#include "images/remote_index.hpp"
#include "registry/credentials.hpp"
#include "store/gc.hpp"
#include "util/strings.hpp"

namespace strata::cli {

namespace {

struct RegistryArgs {
  std::vector<std::string> names;
  std::string username, password;
  bool password_stdin = false;
  bool raw = false;               // imagetools inspect --raw
  std::string format;             // imagetools inspect --format
  std::string platform;           // pull --platform
  std::vector<std::string> tags;  // imagetools create -t
  bool dry_run = false, append = false;
};

int cmd_pull(const GlobalFlags& g, const std::string& name, const std::string& platform) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);
  if (!lease) return report(lease.error());
  images::PullOptions o = pull_options(g);
  o.lazy = false;
  if (!platform.empty()) {
    auto p = oci::parse_platform(platform);
    if (!p) return report(p.error().with_context("--platform"));
    o.platform = *p;
  }
  Progress progress("pulling " + name);
  o.progress = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
  auto desc = images::pull_image(*store, name, o);
  if (!desc) return report(desc.error());
  progress.finish();
  std::cout << desc->digest << "\n";
  return 0;
}

int cmd_push(const GlobalFlags& g, const std::vector<std::string>& names) {
  auto store = open_store(g);
  if (!store) return report(store.error());
  auto lease = store::Lease::take(*store, false);
  if (!lease) return report(lease.error());
  // A multi-platform image goes whole when the store has every platform's
  // image, else this machine's image alone.
  auto tagged = images::resolve_descriptor(*store, names[0]);
  if (!tagged) return report(tagged.error());
  bool is_index = oci::is_index_media_type(tagged->media_type), whole = false;
  if (is_index) {
    auto entries = images::platforms_of(*store, names[0]);
    if (!entries) return report(entries.error());
    whole = std::all_of(entries->begin(), entries->end(),
                        [](const images::PlatformEntry& e) { return e.present; });
  }
  auto img = images::load_image(*store, names[0]);
  if (!whole && !img) return report(img.error());
  if (is_index && !whole)
    std::cerr << fmt::format(
        "note: pushing the {} image of {} only: the store lacks some of its "
        "platforms' images\n",
        oci::host_platform().str(), names[0]);
  const std::string& dest = names.size() > 1 ? names[1] : names[0];
  if (!oci::names_registry(dest) && names.size() == 1)
    return report(Error{Errc::invalid_argument,
                        fmt::format("\"{}\" names no registry; push it as HOST/REPO[:TAG], e.g. "
                                    "`strata push {} registry.example.com/{}`",
                                    dest, dest, oci::normalize_name(dest))});
  auto ref = oci::parse_reference(dest);
  if (!ref) return report(ref.error());
  images::PullOptions o = pull_options(g);
  Progress progress("pushing " + ref->str());
  auto report_bytes = [&](uint64_t done, uint64_t total) { progress.update(done, total); };
  auto pushed = whole ? images::push_index(*store, *tagged, *ref, o.client, o.log, report_bytes)
                      : images::push_image(*store, *img, *ref, o.client, o.log, report_bytes);
  if (!pushed) return report(pushed.error());
  progress.finish();
  std::cout << pushed->digest << "\n";
  return 0;
}

int cmd_login(const GlobalFlags& g, const RegistryArgs& a) {
  auto ref = oci::parse_reference(a.names[0] + "/x");
  if (!ref || !oci::names_registry(a.names[0] + "/x"))
    return report(
        Error{Errc::invalid_argument,
              fmt::format("\"{}\" is not a registry host (HOST or HOST:PORT)", a.names[0])});
  registry::Credentials c{a.username, a.password};
  if (a.password_stdin) {
    std::getline(std::cin, c.password);
  } else if (c.password.empty() && ::isatty(0)) {
    std::cerr << "Password: " << std::flush;
    std::getline(std::cin, c.password);
  }
  if (c.username.empty() || c.password.empty())
    return report(Error{Errc::invalid_argument,
                        "strata login needs --username and a password (--password-stdin)"});
  images::PullOptions o = pull_options(g);
  o.client.credentials = c;
  registry::Client client(ref->registry, "", o.client);
  if (auto r = client.check_login(); !r) return report(r.error());
  if (auto r = registry::store_credentials(ref->registry, c); !r) return report(r.error());
  std::cerr << fmt::format("logged in to {} (credentials in {})\n", ref->registry,
                           registry::docker_config_path().string());
  return 0;
}

// `imagetools inspect REF`: the manifest (or index) the registry has, as
// buildx prints it, or its bytes with --raw.
int cmd_imagetools_inspect(const GlobalFlags& g, const RegistryArgs& a) {
  if (!a.format.empty() && a.format != "{{json .}}" && a.format != "raw")
    return report(Error{Errc::invalid_argument,
                        fmt::format("--format {}: strata prints the summary, --raw, or "
                                    "--format '{{{{json .}}}}'",
                                    a.format)});
  auto ref = oci::parse_reference(a.names[0]);
  if (!ref) return report(ref.error());
  registry::Client client(*ref, pull_options(g).client);
  auto m = client.get_manifest(ref->manifest_ref());
  if (!m) return report(m.error());
  if (a.raw || a.format == "raw") {
    std::cout << m->bytes;
    if (!m->bytes.ends_with("\n")) std::cout << "\n";
    return 0;
  }
  auto doc = nlohmann::json::parse(m->bytes, nullptr, false);
  if (a.format == "{{json .}}") {
    std::cout << nlohmann::json{{"name", ref->str()},
                                {"manifest",
                                 {{"mediaType", m->media_type},
                                  {"digest", m->digest},
                                  {"size", m->bytes.size()}}},
                                {"raw", doc}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << fmt::format("Name:      {}\nMediaType: {}\nDigest:    {}\n", ref->str(),
                           m->media_type, m->digest);
  if (doc.is_object() && doc.contains("manifests") && doc["manifests"].is_array()) {
    std::cout << "\nManifests:\n";
    bool first = true;
    for (const auto& e : doc["manifests"]) {
      if (!e.is_object()) continue;
      if (!first) std::cout << "\n";
      first = false;
      std::string digest = e.value("digest", ""), media = e.value("mediaType", "");
      std::string platform;
      if (e.contains("platform") && e["platform"].is_object()) {
        const auto& p = e["platform"];
        platform = p.value("os", "") + "/" + p.value("architecture", "");
        if (!p.value("variant", "").empty()) platform += "/" + p.value("variant", "");
      }
      std::cout << fmt::format("  Name:      {}@{}\n  MediaType: {}\n", ref->repo_path(), digest,
                               media);
      if (!platform.empty()) std::cout << fmt::format("  Platform:  {}\n", platform);
    }
  }
  return 0;
}

// `imagetools create -t REF SRC...`: one index of the sources' images (and
// with --append those REF names already), pushed to each REF; --dry-run
// prints it instead.
int cmd_imagetools_create(const GlobalFlags& g, const RegistryArgs& a) {
  if (a.tags.empty() && !a.dry_run)
    return report(Error{Errc::invalid_argument,
                        "imagetools create needs -t REF (where to push the index) or --dry-run"});
  std::vector<oci::Reference> targets, sources;
  for (const auto& t : a.tags) {
    auto ref = oci::parse_reference(t);
    if (!ref) return report(ref.error().with_context("-t"));
    targets.push_back(*ref);
  }
  if (a.append) {
    if (targets.empty())
      return report(Error{Errc::invalid_argument, "--append adds to the first -t REF: give one"});
    sources.push_back(targets.front());
  }
  for (const auto& n : a.names) {
    auto ref = oci::parse_reference(n);
    if (!ref) return report(ref.error());
    sources.push_back(*ref);
  }
  auto opts = pull_options(g).client;
  auto index = images::make_remote_index(sources, opts);
  if (!index) return report(index.error());
  if (a.dry_run) {
    std::cout << nlohmann::json::parse(index->bytes).dump(2) << "\n";
    return 0;
  }
  auto log = [](const std::string& line) { std::cerr << line << "\n"; };
  for (const auto& t : targets)
    if (auto r = images::push_remote_index(*index, t, opts, log); !r)
      return report(r.error().with_context(t.str()));
  std::cout << index->digest << "\n";
  return 0;
}

int cmd_logout(const std::string& host) {
  if (auto r = registry::store_credentials(host, std::nullopt); !r) return report(r.error());
  std::cerr << fmt::format("removed the credentials for {}\n", host);
  return 0;
}

}  // namespace

void add_registry_commands(CLI::App& app, const GlobalFlags& g, std::function<int()>& run) {
  auto a = std::make_shared<RegistryArgs>();
  auto* pull = app.add_subcommand("pull", "Download an image from a registry into the store");
  pull->add_option("image", a->names, "[HOST[:PORT]/]NAME[:TAG][@DIGEST]")->required()->expected(1);
  pull->add_option("--platform", a->platform,
                   "Which image of a multi-platform one (default: this machine's); the store "
                   "keeps each platform pulled");
  pull->callback(
      [&g, &run, a] { run = [&g, a] { return cmd_pull(g, a->names[0], a->platform); }; });
  auto* push = app.add_subcommand("push", "Upload an image of the store to a registry");
  push->add_option("images", a->names, "IMAGE [HOST[:PORT]/NAME[:TAG]] (default: IMAGE itself)")
      ->required()
      ->expected(1, 2);
  push->callback([&g, &run, a] { run = [&g, a] { return cmd_push(g, a->names); }; });
  auto* login = app.add_subcommand(
      "login", "Check and store credentials for a registry (in docker's config.json)");
  login->add_option("registry", a->names, "HOST[:PORT]")->required()->expected(1);
  login->add_option("-u,--username", a->username, "User name");
  login->add_option("-p,--password", a->password, "Password (prefer --password-stdin)");
  login->add_flag("--password-stdin", a->password_stdin, "Read the password from stdin");
  login->callback([&g, &run, a] { run = [&g, a] { return cmd_login(g, *a); }; });
  auto* imagetools =
      app.add_subcommand("imagetools", "Images in a registry, as buildx's imagetools");
  imagetools->require_subcommand(1);
  auto* it_inspect = imagetools->add_subcommand(
      "inspect", "Show the manifest or index a registry has for a reference, and its platforms");
  it_inspect->add_option("image", a->names, "[HOST[:PORT]/]NAME[:TAG][@DIGEST]")
      ->required()
      ->expected(1);
  it_inspect->add_flag("--raw", a->raw, "The manifest's bytes as the registry sent them");
  it_inspect->add_option("--format", a->format, "'{{json .}}' (or raw)");
  it_inspect->callback([&g, &run, a] { run = [&g, a] { return cmd_imagetools_inspect(g, *a); }; });
  auto* it_create = imagetools->add_subcommand(
      "create",
      "Push one index of images (or indexes) already in registries: blobs are mounted across "
      "repositories, not downloaded");
  it_create->add_option("sources", a->names, "[HOST[:PORT]/]NAME[:TAG][@DIGEST]...");
  it_create->add_option("-t,--tag", a->tags, "Where to push the index (repeatable)");
  it_create->add_flag("--dry-run", a->dry_run, "Print the index instead of pushing it");
  it_create->add_flag("--append", a->append, "Keep the images the first -t REF already lists");
  it_create->callback([&g, &run, a] { run = [&g, a] { return cmd_imagetools_create(g, *a); }; });
  auto* logout = app.add_subcommand("logout", "Forget the credentials for a registry");
  logout->add_option("registry", a->names, "HOST[:PORT]")->required()->expected(1);
  logout->callback([&run, a] { run = [a] { return cmd_logout(a->names[0]); }; });
}

}  // namespace strata::cli
