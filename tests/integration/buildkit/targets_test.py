"""moby/buildkit frontend/dockerfile/dockerfile_targets_test.go: not ported."""

from bk import Suite

suite = Suite("dockerfile_targets_test.go")
suite.skip("testTargetsList", "the frontend.targets subrequest (buildx --call targets): BuildKit's "
           "gateway API; strata's --dry-run lists stages its own way")
suite.skip("testTargetsDescribeDefinition", "the frontend subrequests' description (BuildKit's gateway API)")
suite.run()
