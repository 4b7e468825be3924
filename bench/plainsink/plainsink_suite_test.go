package main_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gexec"
)

var binary string

func TestPlainsink(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Plainsink Suite", Label("bench"))
}

var _ = BeforeSuite(func() {
	var err error
	binary, err = gexec.Build("github.com/telemetry-harness/telemetry-harness/bench/plainsink")
	Expect(err).NotTo(HaveOccurred(), "gexec.Build")
	DeferCleanup(gexec.CleanupBuildArtifacts)
})
