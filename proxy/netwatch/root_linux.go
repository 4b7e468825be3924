package netwatch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Container kinds the tool's root can show (Options.Container).
const (
	// ContainerHost leaves the host's root as it is (no pinning).
	ContainerHost = ""
	// ContainerNone shows no container marker, whatever the host has.
	ContainerNone = "none"
	// ContainerDocker shows an empty /.dockerenv, as Docker makes.
	ContainerDocker = "docker"
	// ContainerPodman shows an empty /run/.containerenv, as Podman makes.
	ContainerPodman = "podman"
)

// Marker files: is-docker and systemd's detect-virt look for these.
const (
	dockerMarker = ".dockerenv"
	podmanMarker = ".containerenv"
)

// checkContainer reports an unknown container kind.
func checkContainer(kind string) error {
	switch kind {
	case ContainerHost, ContainerNone, ContainerDocker, ContainerPodman:
		return nil
	}
	return fmt.Errorf("container %q: want none, docker or podman (or empty for the host's own root)", kind)
}

// pinRoot gives the tool a root of its own that shows exactly the container
// markers kind asks for. A file cannot be hidden by a bind mount, so the
// root is built: a tmpfs holding a recursive bind of every top-level entry
// of the host's / (symlinks copied as symlinks), without /.dockerenv, and
// /run rebuilt the same way without /run/.containerenv when the host has
// one; then the marker kind asks for, and pivot_root into it. Every
// absolute path the tool knows resolves as before. Runs in the helper's
// own mount namespace (after the private /proc and /sys, which the binds
// carry over), before the tool starts.
func pinRoot(kind string) (err error) {
	// The staging folder is made on the host's /tmp (the helper has no
	// other writable place it knows); the tmpfs over it exists only in
	// this mount namespace, and the folder is removed after the pivot.
	stage, err := os.MkdirTemp("", "root-")
	if err != nil {
		return fmt.Errorf("make the tool's root: staging folder: %w", err)
	}
	defer func() {
		if err != nil {
			_ = unix.Unmount(stage, unix.MNT_DETACH)
			_ = os.Remove(stage)
		}
	}()
	if err := unix.Mount("tmpfs", stage, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("make the tool's root: mount a tmpfs on %s: %w", stage, err)
	}
	hideRun := kind == ContainerPodman
	if _, err := os.Lstat("/run/" + podmanMarker); err == nil {
		hideRun = true
	}
	entries, err := os.ReadDir("/")
	if err != nil {
		return fmt.Errorf("make the tool's root: list /: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == dockerMarker:
			continue // the host's marker, never shown as is
		case name == "run" && hideRun:
			if err := rebuildRun(filepath.Join(stage, "run")); err != nil {
				return err
			}
			continue
		}
		if err := mirror("/"+name, filepath.Join(stage, name)); err != nil {
			return err
		}
	}
	if hideRun {
		if _, err := os.Lstat(filepath.Join(stage, "run")); errors.Is(err, os.ErrNotExist) {
			// A host without /run: podman's marker still needs a home.
			if err := os.Mkdir(filepath.Join(stage, "run"), 0o755); err != nil {
				return fmt.Errorf("make the tool's root: mkdir /run: %w", err)
			}
		}
	}
	switch kind {
	case ContainerDocker:
		if err := os.WriteFile(filepath.Join(stage, dockerMarker), nil, 0o644); err != nil {
			return fmt.Errorf("make the tool's root: create /%s: %w", dockerMarker, err)
		}
	case ContainerPodman:
		if err := os.WriteFile(filepath.Join(stage, "run", podmanMarker), nil, 0o644); err != nil {
			return fmt.Errorf("make the tool's root: create /run/%s: %w", podmanMarker, err)
		}
	}
	// The root itself is read-only, as a plain machine's / is to a user.
	if err := unix.Mount("", stage, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("make the tool's root: remount read-only: %w", err)
	}
	if err := unix.Chdir(stage); err != nil {
		return fmt.Errorf("make the tool's root: chdir: %w", err)
	}
	// pivot_root(".", "."): the old root ends up on top of the new one and
	// is detached at once; no folder for it is needed in the new root.
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("make the tool's root: pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("make the tool's root: detach the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("make the tool's root: chdir /: %w", err)
	}
	// The bind of /tmp copied the staging mount into itself: drop that
	// copy and the host's (now empty) staging folder.
	_ = unix.Unmount(stage, unix.MNT_DETACH)
	_ = os.Remove(stage)
	return nil
}

// rebuildRun makes dst a tmpfs holding binds of /run's entries except
// podman's marker.
func rebuildRun(dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return fmt.Errorf("make the tool's root: mkdir /run: %w", err)
	}
	if err := unix.Mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755,size=64k"); err != nil {
		return fmt.Errorf("make the tool's root: mount a tmpfs on /run: %w", err)
	}
	entries, err := os.ReadDir("/run")
	if err != nil {
		return fmt.Errorf("make the tool's root: list /run: %w", err)
	}
	for _, e := range entries {
		if e.Name() == podmanMarker {
			continue
		}
		if err := mirror("/run/"+e.Name(), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// mirror makes dst show src: a symlink is copied, a folder or file is
// bound recursively (a non-recursive bind of a mount with locked submounts
// is refused in a user namespace), anything else (sockets, fifos) too.
func mirror(src, dst string) error {
	st, err := os.Lstat(src)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil // gone since it was listed
		}
		return fmt.Errorf("make the tool's root: %w", err)
	}
	switch {
	case st.Mode()&os.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return fmt.Errorf("make the tool's root: %w", err)
		}
		if err := os.Symlink(target, dst); err != nil {
			return fmt.Errorf("make the tool's root: %w", err)
		}
		return nil
	case st.IsDir():
		if err := os.Mkdir(dst, 0o755); err != nil {
			return fmt.Errorf("make the tool's root: %w", err)
		}
	default:
		if err := os.WriteFile(dst, nil, 0o644); err != nil {
			return fmt.Errorf("make the tool's root: %w", err)
		}
	}
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make the tool's root: bind %s: %w", src, err)
	}
	return nil
}
