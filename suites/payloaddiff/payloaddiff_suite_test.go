package payloaddiff_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestPayloadDiff(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Payload diff Suite", Label("payloaddiff"))
}
