/*
 * evkey: keyboard events for the desk suite's guests (docs/real-kernel.md, "The desk"). Built
 * statically on the test host (`cc -static`) and put in the test-bed guests' initramfs.
 *
 *   evkey kbd NAME           a uinput keyboard named NAME: prints its /dev/input/eventN, then
 *                            reads key codes from stdin, one a line, and types each (press,
 *                            release); ends at end of input
 *   evkey watch DEV SECONDS PREFIX
 *                            prints "PREFIX CODE VALUE" for every key event DEV delivers to
 *                            this reader, for SECONDS (0: for ever), flushed line by line
 *   evkey grab DEV           tries EVIOCGRAB on DEV: prints "grab ok" (and lets go) or
 *                            "grab busy" (another reader holds it), else fails
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "evkey: %s: %s\n", what, strerror(errno));
	return 1;
}

static int emit(int fd, int type, int code, int value)
{
	struct input_event ev;
	memset(&ev, 0, sizeof ev);
	ev.type = type;
	ev.code = code;
	ev.value = value;
	return write(fd, &ev, sizeof ev) == sizeof ev ? 0 : -1;
}

static int kbd(const char *name)
{
	int fd = open("/dev/uinput", O_WRONLY | O_NONBLOCK);
	if (fd < 0)
		return fail("/dev/uinput");
	if (ioctl(fd, UI_SET_EVBIT, EV_KEY) < 0 || ioctl(fd, UI_SET_EVBIT, EV_SYN) < 0 ||
	    ioctl(fd, UI_SET_EVBIT, EV_REP) < 0)
		return fail("UI_SET_EVBIT");
	/* The keys of a keyboard (QEMU's input-linux takes a device with KEY_A as one). */
	for (int key = KEY_ESC; key <= KEY_MICMUTE; key++)
		if (ioctl(fd, UI_SET_KEYBIT, key) < 0)
			return fail("UI_SET_KEYBIT");
	struct uinput_setup setup;
	memset(&setup, 0, sizeof setup);
	setup.id.bustype = BUS_VIRTUAL;
	setup.id.vendor = 0x1d6b;
	setup.id.product = 0x0104;
	snprintf(setup.name, sizeof setup.name, "%s", name);
	if (ioctl(fd, UI_DEV_SETUP, &setup) < 0 || ioctl(fd, UI_DEV_CREATE) < 0)
		return fail("UI_DEV_CREATE");
	char sysname[64] = "";
	if (ioctl(fd, UI_GET_SYSNAME(sizeof sysname), sysname) < 0)
		return fail("UI_GET_SYSNAME");
	/* /sys/devices/virtual/input/inputN/eventM: the evdev node of the new device. */
	char path[160];
	int event = -1;
	for (int tries = 0; tries < 50 && event < 0; tries++) {
		for (int n = 0; n < 256 && event < 0; n++) {
			snprintf(path, sizeof path, "/sys/devices/virtual/input/%s/event%d", sysname, n);
			if (access(path, F_OK) == 0)
				event = n;
		}
		if (event < 0)
			usleep(100000);
	}
	if (event < 0) {
		fprintf(stderr, "evkey: no event node for %s\n", sysname);
		return 1;
	}
	printf("/dev/input/event%d\n", event);
	fflush(stdout);
	char line[64];
	while (fgets(line, sizeof line, stdin)) {
		int code = atoi(line);
		if (code <= 0 || code > KEY_MICMUTE)
			continue;
		if (emit(fd, EV_KEY, code, 1) || emit(fd, EV_SYN, SYN_REPORT, 0) || emit(fd, EV_KEY, code, 0) ||
		    emit(fd, EV_SYN, SYN_REPORT, 0))
			return fail("write");
	}
	ioctl(fd, UI_DEV_DESTROY);
	close(fd);
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int watch(const char *dev, double seconds, const char *prefix)
{
	int fd = open(dev, O_RDONLY);
	if (fd < 0)
		return fail(dev);
	double end = now() + seconds;
	for (;;) {
		int wait = -1;
		if (seconds > 0) {
			double left = end - now();
			if (left <= 0)
				return 0;
			wait = (int)(left * 1000) + 1;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int ready = poll(&p, 1, wait);
		if (ready < 0 && errno != EINTR)
			return fail("poll");
		if (ready <= 0)
			continue;
		struct input_event ev;
		if (read(fd, &ev, sizeof ev) != sizeof ev)
			return fail("read");
		/* Held-key repeats (value 2) are left out: presses and releases only. */
		if (ev.type == EV_KEY && ev.value != 2) {
			printf("%s %d %d\n", prefix, ev.code, ev.value);
			fflush(stdout);
		}
	}
}

static int grab(const char *dev)
{
	int fd = open(dev, O_RDONLY);
	if (fd < 0)
		return fail(dev);
	if (ioctl(fd, EVIOCGRAB, 1) == 0) {
		ioctl(fd, EVIOCGRAB, 0);
		puts("grab ok");
		return 0;
	}
	if (errno == EBUSY) {
		puts("grab busy");
		return 0;
	}
	return fail("EVIOCGRAB");
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "kbd") == 0)
		return kbd(argv[2]);
	if (argc == 5 && strcmp(argv[1], "watch") == 0)
		return watch(argv[2], atof(argv[3]), argv[4]);
	if (argc == 3 && strcmp(argv[1], "grab") == 0)
		return grab(argv[2]);
	fprintf(stderr, "usage: evkey kbd NAME | watch DEV SECONDS PREFIX | grab DEV\n");
	return 2;
}
