// The ordergate-fix-venue binary as a child process for tests: started on free loopback ports,
// ready when it prints its ready line, stopped with SIGTERM. control() sends one control line
// and returns the answer line.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ordergate::fixtest {

class VenueProcess {
  public:
    // `args` come after --port/--control-port/--data-dir (e.g. --session FIX.4.4:C1).
    VenueProcess(const std::string& data_dir, std::vector<std::string> args);
    ~VenueProcess();
    VenueProcess(const VenueProcess&) = delete;
    VenueProcess& operator=(const VenueProcess&) = delete;

    int port() const { return port_; }
    int control_port() const { return control_port_; }
    std::string control(const std::string& line) const;
    // SIGTERM and wait; returns the exit status (-1 when it had to be killed).
    int stop();
    // Stops (SIGTERM) and starts again on the same ports and data directory.
    void restart();
    std::string log() const;

  private:
    void spawn(bool same_port);
    std::string data_dir_;
    std::vector<std::string> args_;
    std::string log_path_;
    pid_t pid_ = -1;
    int port_ = 0;
    int control_port_ = 0;
};

int free_loopback_port();

}  // namespace ordergate::fixtest
