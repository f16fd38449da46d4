/*
 * mock-broker: hosts librdkafka's mock cluster in a process of its own so that other processes can use it
 * as a local Kafka broker over TCP (see DESIGN.md section 7 for what it does and does not implement).
 *
 *   mock-broker --port PORT [--brokers N] [--topic NAME:PARTITIONS]... [--rebalance-delay-ms MS] [--control PATH]
 *
 * Prints "LISTENING <bootstrap servers>" once the cluster accepts connections and runs until SIGTERM/SIGINT.
 * With --control, it creates a FIFO at PATH and obeys the lines written to it, for fault injection:
 *   down ID   the broker with that id (1..N) closes its connections and refuses new ones
 *   up ID     it serves again
 *   create NAME PARTITIONS   a topic replicated on up to 3 brokers (the mock cluster has no CreateTopics)
 * Each command is acknowledged on stdout ("OK down 2" or "ERROR ...").
 *
 * Two libc calls are interposed (the dynamic linker binds these definitions ahead of libc's for librdkafka):
 *  - accept(): the mock cluster leaves TCP_NODELAY off on accepted sockets, which delays produce responses
 *    by ~40 ms (Nagle + delayed ACK); we set it on every accepted connection.
 *  - bind(): the mock cluster binds its listeners to an ephemeral port; the first bind to port 0 is moved
 *    to the requested port so that the broker's address is known before it starts.
 */
#define _GNU_SOURCE
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested = 0;
static int requested_port = 0;

int accept(int fd, struct sockaddr *addr, socklen_t *len) {
    int s = accept4(fd, addr, len, 0);
    if (s >= 0) {
        int on = 1;
        setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    }
    return s;
}

int bind(int fd, const struct sockaddr *addr, socklen_t len) {
    if (requested_port > 0 && addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, addr, sizeof(sin));
        if (sin.sin_port == 0) {
            sin.sin_port = htons((uint16_t)requested_port);
            requested_port = 0; /* only the first listener */
            return (int)syscall(SYS_bind, fd, (const struct sockaddr *)&sin, (socklen_t)sizeof(sin));
        }
    }
    return (int)syscall(SYS_bind, fd, addr, len);
}

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void usage(void) {
    fprintf(stderr, "usage: mock-broker --port PORT [--brokers N] [--topic NAME:PARTITIONS]... "
                    "[--rebalance-delay-ms MS] [--control PATH]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int brokers = 1, rebalance_delay_ms = 0;
    const char *control = NULL;
    const char *topics[64];
    int topic_count = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) requested_port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--brokers") && i + 1 < argc) brokers = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rebalance-delay-ms") && i + 1 < argc) rebalance_delay_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--topic") && i + 1 < argc && topic_count < 64) topics[topic_count++] = argv[++i];
        else if (!strcmp(argv[i], "--control") && i + 1 < argc) control = argv[++i];
        else usage();
    }
    if (brokers < 1) usage();

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "mock-broker: %s\n", errstr);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "mock-broker: rd_kafka_new failed: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_mock_cluster_t *cluster = rd_kafka_mock_cluster_new(rk, brokers);
    if (!cluster) {
        fprintf(stderr, "mock-broker: could not create the mock cluster (port in use?)\n");
        rd_kafka_destroy(rk);
        return 1;
    }
    rd_kafka_mock_group_initial_rebalance_delay_ms(cluster, rebalance_delay_ms);

    for (int t = 0; t < topic_count; t++) {
        char name[512];
        int partitions = 4;
        const char *colon = strrchr(topics[t], ':');
        size_t n = colon ? (size_t)(colon - topics[t]) : strlen(topics[t]);
        if (n >= sizeof(name)) n = sizeof(name) - 1;
        memcpy(name, topics[t], n);
        name[n] = '\0';
        if (colon) partitions = atoi(colon + 1);
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name, partitions, brokers < 3 ? brokers : 3);
        if (err) {
            fprintf(stderr, "mock-broker: creating topic %s failed: %s\n", name, rd_kafka_err2str(err));
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(rk);
            return 1;
        }
    }

    int control_fd = -1;
    if (control) {
        unlink(control);
        /* Read-write, so that the FIFO never reports end-of-file between two writers. */
        if (mkfifo(control, 0600) != 0 || (control_fd = open(control, O_RDWR)) < 0) {
            fprintf(stderr, "mock-broker: cannot create the control FIFO %s: %s\n", control, strerror(errno));
            rd_kafka_mock_cluster_destroy(cluster);
            rd_kafka_destroy(rk);
            return 1;
        }
    }

    /* Without SA_RESTART, so that a signal interrupts a read of the control FIFO. */
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    printf("LISTENING %s\n", rd_kafka_mock_cluster_bootstraps(cluster));
    fflush(stdout);

    char line[256];
    size_t used = 0;
    while (!stop_requested) {
        if (control_fd < 0) {
            pause();
            continue;
        }
        ssize_t n = read(control_fd, line + used, sizeof(line) - 1 - used);
        if (n <= 0) continue;
        used += (size_t)n;
        line[used] = '\0';
        char *end;
        while ((end = strchr(line, '\n')) != NULL) {
            *end = '\0';
            char verb[16], topic[200];
            int id = 0, partitions = 0;
            rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__INVALID_ARG;
            if (sscanf(line, "create %199s %d", topic, &partitions) == 2 && partitions > 0) {
                err = rd_kafka_mock_topic_create(cluster, topic, partitions, brokers < 3 ? brokers : 3);
            } else if (sscanf(line, "%15s %d", verb, &id) == 2 && id >= 1 && id <= brokers) {
                if (!strcmp(verb, "down")) err = rd_kafka_mock_broker_set_down(cluster, id);
                else if (!strcmp(verb, "up")) err = rd_kafka_mock_broker_set_up(cluster, id);
            }
            if (err) printf("ERROR %s: %s\n", line, rd_kafka_err2str(err));
            else printf("OK %s\n", line);
            fflush(stdout);
            size_t rest = used - (size_t)(end + 1 - line);
            memmove(line, end + 1, rest + 1);
            used = rest;
        }
        if (used == sizeof(line) - 1) used = 0;
    }
    if (control_fd >= 0) {
        close(control_fd);
        unlink(control);
    }

    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(rk);
    return 0;
}
