package envsweep_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestEnvsweep(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Envsweep Suite")
}
