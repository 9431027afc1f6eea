// Values of `strata build`'s flags, parsed and checked (--secret, --ssh,
// --cache-to/--cache-from, --output) and SOURCE_DATE_EPOCH resolved; the
// build command calls these, the unit tests check them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/image_cache.hpp"
#include "dockerfile/instructions.hpp"
#include "export/convert.hpp"
#include "export/image_archive.hpp"
#include "oci/reference.hpp"
#include "util/error.hpp"

namespace strata::cli {

// Inputs the CLI reads whole: a Dockerfile, a .dockerignore, a secret.
constexpr uint64_t kMaxInputFile = 16 << 20;

// A file of at most kMaxInputFile bytes; a missing one is not_found.
Result<std::string> read_input_file(const std::filesystem::path& p);

// --secret id=ID,src=FILE (or source=) | id=ID,env=VARIABLE: the id and the
// secret's value, read now and kept in memory only.
Result<std::pair<std::string, std::string>> parse_secret(const std::string& spec);

// --ssh default | ID | ID=SOCKET: the id and an agent socket (ID alone:
// $SSH_AUTH_SOCK).
Result<std::pair<std::string, std::filesystem::path>> parse_ssh(const std::string& spec);

// --cache-to type=local|archive|registry|inline, --cache-from
// type=local|archive|registry|image (dest=, src= or ref=), with mode=,
// mounts=, reset=; a plain REF (no key=) is type=registry,ref=REF, which
// also reads an image's inline cache, in the store or in the registry.
struct CacheSpec {
  std::string type, path;  // path: dest=, src= or ref=
  oci::Reference ref;      // type=registry
  bool max = false;        // mode=max: every step, not only the image's
  bool plain = false;      // given as a plain reference
  cache::CacheExportOptions opts;
};

// `flag` is --cache-to or --cache-from (it names the flag in errors).
Result<CacheSpec> parse_cache_spec(const std::string& flag, const std::string& spec);

// --output type=oci|docker|local|tar,dest=PATH (type=oci,tar=false: an OCI
// layout directory at PATH); type=docker or type=image
// without dest (and --load) load the image into the docker daemon, under
// the -t names and its own name= ones; type=image,push=true pushes it to
// its name= references (else the -t ones), as --push does.
struct Output {
  std::string type, dest;
  std::vector<std::string> names;  // name=, for the docker daemon
  bool tar = true;                 // tar=false: type=oci as a layout directory
  bool push = false;               // type=image,push=true: to the registries it names
  exporter::CompressionOptions compression;
  // cache=: the build cache an archive or layout carries (type=oci|docker with dest)
  cache::CacheMode cache = cache::CacheMode::min;
  bool into_docker() const {
    return dest.empty() && (type == "docker" || (type == "image" && !push));
  }
};

Result<Output> parse_output(const std::string& spec);

// --annotation [manifest:]KEY=VALUE, as buildx takes it: an annotation of
// the image manifest. The other places buildx can put one (index:,
// manifest-descriptor:, index-descriptor:, a [platform] filter) belong to
// multi-platform images and are refused until strata writes those.
Result<std::pair<std::string, std::string>> parse_annotation(const std::string& spec);

// --provenance, --sbom and --attest: accepted when they turn attestations
// off (false, 0, or --attest type=...,disabled=true), as CI scripts pass
// them to keep images plain; a request for one is an error until strata
// writes attestations.
Result<void> check_attestations(const std::string& provenance, const std::string& sbom,
                                const std::vector<std::string>& attest);

// The compression a build writes its new layers in, chosen once: the one
// every image file output (--output type=oci|docker,dest=) and every --cache-to names
// with compression= (no compression-level=), when there is at least one,
// they all name the same and nothing is pushed (a push sends the layers as
// they are); then no layer of the build is converted afterwards. Otherwise
// gzip, and each export converts what it needs.
archive::Compression new_layer_compression(const std::vector<Output>& outputs,
                                           const std::vector<CacheSpec>& cache_to, bool pushes);

// --build-context NAME=VALUE: the name (lower-cased: a stage or an image
// name) and the value (a directory, docker-image://REF,
// oci-layout://PATH[:TAG][@sha256:DIGEST], a URL or a git repository).
// Bake's target: and BuildKit's input: are refused as unsupported.
Result<std::pair<std::string, std::string>> parse_build_context(const std::string& spec);

// oci-layout://PATH[:TAG][@sha256:DIGEST], as buildx writes it.
struct OciLayoutRef {
  std::filesystem::path dir;
  std::string tag, digest;
};
Result<OciLayoutRef> parse_oci_layout_ref(const std::string& value);

// Which image of an OCI layout a reference means: the one of that digest,
// the one whose ref name is the tag, else the only one. Returns its
// manifest digest.
Result<std::string> pick_layout_image(const std::vector<exporter::LayoutImage>& images,
                                      const OciLayoutRef& ref);

// What SOURCE_DATE_EPOCH (the plan's, see Plan::source_date_epoch) means:
// a number of seconds; "" none; "context" the context's time (a git
// commit's, a URL's; none for a local context, which has no time of its
// own, as in BuildKit). BuildKit also takes the name of a stage that ADDs
// one remote source; strata says it does not.
Result<std::optional<int64_t>> resolve_source_date_epoch(const std::string& value,
                                                         const dockerfile::Dockerfile& df,
                                                         std::optional<int64_t> context_time);

}  // namespace strata::cli
