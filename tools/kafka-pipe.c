/*
 * kafka-pipe: the floor for StreamKit's pass-through benchmark. A plain librdkafka consume -> produce loop:
 * joins GROUP, copies every record of IN_TOPIC (key, value, headers; timestamped with the time of the copy)
 * to OUT_TOPIC, commits offsets asynchronously every 100 ms, and exits after COUNT records (or on SIGTERM).
 * It never waits for deliveries before committing (only on exit), so it is an upper bound for a loop that
 * would have to: a floor no correct stream processor can beat.
 *
 *   kafka-pipe BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP COUNT
 *
 * LINGER_MS in the environment sets the producer's linger.ms (default 5), so that a benchmark can give it the
 * setting of what it is compared with. Each assignment is printed as "assigned N" (N partitions) on stdout.
 */
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *partitions, void *opaque) {
    (void)opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        rd_kafka_assign(rk, partitions);
        printf("assigned %d\n", partitions->cnt);
        fflush(stdout);
    } else {
        rd_kafka_assign(rk, NULL);
    }
}

static rd_kafka_t *make(rd_kafka_type_t type, const char *bootstrap, const char *group) {
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *linger = getenv("LINGER_MS");
    const char *common[][2] = {
        {"bootstrap.servers", bootstrap}, {"log_level", "3"}, {"socket.nagle.disable", "true"},
    };
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        rd_kafka_conf_set(conf, common[i][0], common[i][1], errstr, sizeof(errstr));
    if (type == RD_KAFKA_CONSUMER) {
        const char *props[][2] = {
            {"group.id", group}, {"auto.offset.reset", "earliest"}, {"enable.auto.commit", "false"},
            {"fetch.wait.max.ms", "10"}, {"session.timeout.ms", "6000"}, {"isolation.level", "read_committed"},
            /* librdkafka's default (1 s) idles a consumer whose prefetch queue has just been full. */
            {"fetch.queue.backoff.ms", "10"},
        };
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
            rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr));
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
    } else {
        const char *props[][2] = {
            {"enable.idempotence", "true"}, {"compression.codec", "lz4"}, {"linger.ms", linger ? linger : "5"},
            {"partitioner", "murmur2_random"},
            /* A full local queue (100,000 by default) stalls this loop for about a second at a time. */
            {"queue.buffering.max.messages", "1000000"},
        };
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
            rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr, sizeof(errstr));
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "kafka-pipe: %s\n", errstr);
        exit(2);
    }
    return rk;
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: kafka-pipe BOOTSTRAP IN_TOPIC OUT_TOPIC GROUP COUNT\n");
        return 2;
    }
    const char *out_topic = argv[3];
    long long count = atoll(argv[5]);
    /* A parent may spawn us with signals blocked (Swift's Foundation.Process inherits its threads' mask). */
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_UNBLOCK, &all, NULL);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    rd_kafka_t *consumer = make(RD_KAFKA_CONSUMER, argv[1], argv[4]);
    rd_kafka_t *producer = make(RD_KAFKA_PRODUCER, argv[1], NULL);
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, argv[2], RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(consumer, topics);
    rd_kafka_topic_partition_list_destroy(topics);

    long long done = 0, last_commit = now_ms();
    while (!stop && done < count) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 50);
        if (m) {
            if (!m->err) {
                rd_kafka_headers_t *headers = NULL;
                if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers)
                    headers = rd_kafka_headers_copy(headers);
                else
                    headers = NULL;
                rd_kafka_resp_err_t err;
                do {
                    err = rd_kafka_producev(
                        producer, RD_KAFKA_V_TOPIC(out_topic), RD_KAFKA_V_KEY(m->key, m->key_len),
                        RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_TIMESTAMP(0), /* now: the time of the copy */
                        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
                    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer, 10);
                } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                if (err) {
                    if (headers) rd_kafka_headers_destroy(headers);
                    fprintf(stderr, "kafka-pipe: produce: %s\n", rd_kafka_err2str(err));
                }
                rd_kafka_offset_store_message(m);
                done++;
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_poll(producer, 0);
        if (now_ms() - last_commit >= 100) {
            rd_kafka_commit(consumer, NULL, 1);
            last_commit = now_ms();
        }
    }
    rd_kafka_flush(producer, 10000);
    rd_kafka_commit(consumer, NULL, 0);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(producer);
    printf("%lld\n", done);
    return 0;
}
