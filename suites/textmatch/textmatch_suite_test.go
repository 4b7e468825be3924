package textmatch_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

func TestTextmatch(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Textmatch Suite", Label("textmatch"))
}
