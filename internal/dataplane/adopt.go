package dataplane

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// takeListener copies the traffic socket out of an adopted data plane (pidfd_getfd, Linux
// 5.6+; it needs the right to ptrace the process, which a same-user process has unless
// Yama restricts it). With the copy held, a restart after a crash keeps the socket and
// uses a standby, as for a data plane this control plane started; without it the restart
// binds the address again and connections are refused until it listens.
func takeListener(st State) (*os.File, error) {
	if st.ListenFD <= 0 {
		return nil, fmt.Errorf("the data plane did not record its socket's descriptor")
	}
	pidfd, err := unix.PidfdOpen(st.PID, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", st.PID, err)
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, st.ListenFD, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd_getfd %d/%d: %w", st.PID, st.ListenFD, err)
	}
	f := os.NewFile(uintptr(fd), "traffic-listener")
	// Only a listening socket on the recorded address will do (the fd may have been reused).
	if v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN); err != nil || v != 1 {
		f.Close()
		return nil, fmt.Errorf("descriptor %d of pid %d is not a listening socket", st.ListenFD, st.PID)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	if got := sockaddrString(sa); got != st.Listen {
		f.Close()
		return nil, fmt.Errorf("descriptor %d of pid %d listens on %s, not %s", st.ListenFD, st.PID, got, st.Listen)
	}
	return f, nil
}

func sockaddrString(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), fmt.Sprint(a.Port))
	case *unix.SockaddrInet6:
		return net.JoinHostPort(net.IP(a.Addr[:]).String(), fmt.Sprint(a.Port))
	}
	return fmt.Sprint(sa)
}
