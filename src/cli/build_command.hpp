// `strata build`: flags as `docker buildx build` spells them.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

#include "cli/common.hpp"

namespace strata::cli {

struct BuildFlags {
  std::string context;
  std::string file;  // -f; "" = <context>/Dockerfile, "-" = stdin
  std::string target;
  std::string platform;                 // target platform; "" = the host's
  std::vector<std::string> build_args;  // K=V, or K to take V from the environment
  std::vector<std::string> tags;        // -t
  std::vector<std::string> labels;      // --label K=V
  std::vector<std::string> outputs;     // --output type=...,dest=...
  std::string network = "host";
  std::string progress = "auto";
  int jobs = 0;  // 0 = the number of cores
  bool no_cache = false;
  bool incremental = true;  // --incremental=false / --no-incremental: marks do nothing
  std::vector<std::string> no_cache_filter;
  std::vector<std::string> secrets;  // --secret id=X,src=FILE | id=X,env=VAR
  std::vector<std::string> ssh;      // --ssh default | ID=SOCKET
  std::vector<std::string> cache_to, cache_from;
  std::vector<std::string> build_contexts;  // --build-context NAME=DIR|docker-image://REF|URL
  std::vector<std::string> allow;           // --allow security.insecure | network.host
  std::string shm_size;                     // --shm-size 128m
  std::vector<std::string> ulimits;         // --ulimit nofile=1024:2048
  std::vector<std::string> add_hosts;       // --add-host db:127.0.0.2
  std::vector<std::string> annotations;     // --annotation org.opencontainers.image.x=y
  bool normalize_permissions = false;
  bool push = false;  // --push: every -t that names a registry
  bool load = false;  // --load: into the docker daemon
  bool pull = false;  // --pull: resolve FROM images in their registry again
  bool dry_run = false;
  std::string format = "text";
  std::string call = "build";  // --call build | check[,format=json]
  bool check = false;          // --check: --call check
  // Flags of `docker buildx build` for what lies around the build.
  std::string iidfile;        // --iidfile: the image id (config digest)
  std::string metadata_file;  // --metadata-file: the keys buildx writes
  std::string trace;          // --trace: the build as Chrome trace events
  std::string builder;        // --builder: accepted; strata's store builds
  std::string cgroup_parent;  // --cgroup-parent: accepted, ignored
  std::string provenance, sbom;
  std::vector<std::string> attest;  // --provenance, --sbom, --attest: off only
};

void add_build_command(CLI::App& app, const GlobalFlags& g, std::function<int()>& run);

}  // namespace strata::cli
