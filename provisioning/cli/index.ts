/**
 * `provision` command line: community, operators, terminals, residents, passes, alerts, fleet, and the
 * hub service; one file per command group beside this one. Every command that reads or changes the
 * community's state is a client of the hub's API (connect.ts: a login, an API token, or root with the
 * passphrase), and the hub authorises and audits it; only bootstrap and offline recovery work on the
 * community folder directly (init, broker, hub, update build and key), as root with the passphrase.
 * Results go to stdout (--json where it helps scripts), errors to stderr in one line with a non-zero
 * exit status.
 */
import { commandLine } from '../../runtime/command-line';
import { alertCommand } from './alert';
import { auditCommand } from './audit';
import { brokerCommand } from './broker';
import { refuseActorOption, type Command } from './common';
import { configCommand } from './config';
import { doorCommand } from './door';
import { eventsCommand } from './events';
import { fleetCommand } from './fleet';
import { hubCommand } from './hub';
import { initCommand } from './init';
import { loginCommand, logoutCommand } from './login';
import { operatorCommand } from './operator';
import { passCommand } from './pass';
import { personCommand } from './person';
import { registrationCommand } from './registration';
import { terminalCommand } from './terminal';
import { updateCommand } from './update';

const USAGE = `usage: provision <command> [options]

Commands marked * call the hub's API (provision hub --http) with one credential, the first of:
  PROVISION_HUB + PROVISION_TOKEN [+ PROVISION_CA]   an API token
  PROVISION_PASSPHRASE + (--dir DIR | PROVISION_DIR)  root: requests signed with the folder's root key
  provision login                                    the login kept in $XDG_CONFIG_HOME/doorway/credentials.json
  (--dir DIR | PROVISION_DIR) on a terminal          root, the passphrase asked for
The others work on the community folder (--dir DIR or PROVISION_DIR) with the passphrase, as root.

operators
  login --hub https://HOST:PORT [--ca FILE] --id NAME    password asked for (PROVISION_PASSWORD); a one-time password
                                                must be replaced (PROVISION_NEW_PASSWORD); keeps an API token
  logout                                        revoke that token and delete the file
  operator add --id ID --role admin|security|manager|auditor [--buildings b-1,b-2]   * prints a one-time password
  operator list [--json] | operator disable ID | operator reset-password ID          *
community
  init [--name N] [--broker-url mqtts://HOST:PORT] [--broker-host IP:x|DNS:y]... [--time-zone TZ] [--webhook URL]
       [--admin ID] [--http-host IP:x|DNS:y]...    also the first admin (one-time password printed) and the API's certificate
  broker config [--listen HOST] [--user U]      write mosquitto.conf + ACL + CRL paths for the terminal list
  broker config --engine emqx|vernemq --out DIR [--listen HOST]   the same for a clustered broker (docs/scaling.md)
  broker run [--listen HOST]                    run mosquitto on that configuration
  broker renew                                  renew the broker's server certificate (397 days) and reload the broker
  hub [--webhook URL] [--poll-ms MS] [--http HOST:PORT [--auth-config FILE] [--real-name-check off]] [--updates HOST:PORT] [--key-file PATH]
                                                run the hub service (publish, ingest, alerts, commands, renewals);
                                                --http: also its HTTPS API (provisioning/api/README.md);
                                                --updates: its bundle server for terminals, and rollouts
  hub renew                                     renew the hub's certificate (90 days; the running hub does it itself)
  hub key-file --out PATH                       write the key templates and photos are encrypted with (0600) for
                                                hub --key-file PATH (provisioning/README.md, "Encryption at rest")
  hub rotate-key                                the hub stopped: a new at-rest key, templates and photos sealed again
                                                with it; key files written before open nothing any more
  audit [--json] [-n N]                         * who did what, when
terminals (*)
  terminal add --id ID --door DOOR [--building B] --out DIR [--camera RTSP_URL]
  terminal revoke ID
  terminal wipe ID --yes [--wait S]              erase every face template and person on that terminal (stolen,
                                                decommissioned); its door recognises nobody until a resync
  terminal resync ID [--wait S]                  the terminal fetches a full roster snapshot (also ends a wipe)
  terminal renew (ID... | --due) [--out DIR]     renew certificates (90 days; the running hub renews them 30 days before
                                                expiry and sends them to the terminals); --out: also write device.crt
  terminal list [--json]
residents (*)
  registration list [--status pending|approved|rejected] [--building B] [--json]   the tenant app's queue
  registration approve ID [--doors ...] [--buildings ...] [--from] [--until] [--hours ...]   default: the building registered for
  registration reject ID --reason TEXT
  person register --id ID --photo A.jpg [--photo B.jpg] [--label L]        a tenant's registration (pending)
  person approve ID --doors D1,D2 [--buildings B] [--from DATE] [--until DATE] [--hours "mon-fri 07:00-22:00"]...
  person add --id ID --photo A.jpg [--photo ...] --doors ... [--from --until --hours --label]   both steps at once
  person add --id ID --no-face --doors ... [...]  a resident who declines face enrolment (register takes --no-face
                                                too): no photo, no template; give a card or PIN with person credentials
  person update ID [--doors ...] [--buildings ...] [--from] [--until] [--hours ...] [--photo ...] [--label]
  person revoke ID [--reason TEXT]
  person export ID [--out FILE]                  everything the hub holds about the person as one JSON (photos
                                                base64); --out: a new file, 0600
  person erase ID --confirm [--json]             delete everything held about the person everywhere (admin);
                                                reports where what was deleted and which terminals confirmed
  person erasure-status ID [--json]              which terminals have deleted a revoked or erased person
  person reset-adaptation (ID | --all) [--json]   forget adapted templates (learnt at the doors): on the hub, and
                                                at every door (roster republished, adaptation.reset sent)
  person list [--status pending|active|revoked] [--json]
  person show ID [--json]
  person import FILE.csv [--json]               columns id,photos,doors[,buildings,from,until,hours,label]; lists use ";"
  person unused [--days N] [--building B] [--json]   active residents not seen at any door for N days (default 90,
                                                at most the days entry events are kept), to confirm or end
  person confirm ID                             still lives here: left out of the unused report for N more days
  person credentials ID [--card FAC:NUM]... [--no-cards] [--pin-stdin] [--no-pin]
                                                cards and PINs (only digests are kept); --pin-stdin reads the PIN
                                                and, on a second line, an optional duress PIN
passes (*)
  pass issue --door D [--door D2] [--building B] [--valid-for 2h] [--from ISO] [--uses N] [--label L] --out pass.png|.svg
                                                a signed visitor pass as a QR code (prints its id and QR version)
  pass revoke ID                                refused at every door from the next roster version on
  pass list [--json]
alerts (*)
  alert add --tag TAG (--photo P.jpg... | --person ID) [--note TEXT]
  alert clear --tag TAG
  alert list [--tag TAG] [--json]
fleet (*)
  fleet status [--json]
  door unlock ID --reason TEXT [--seconds S]    ID: a door or terminal id; signed, expiring command
  config push [--terminal ID]                   ask terminals to reload their configuration
  events tail [-n N] [--follow] [--json]
updates (provisioning/update/README.md)
  update build --from DIR --version V --replaces V1,V2 --out FILE [--arch arm64|x64] [--json]
                                                a signed bundle of a built runtime folder (update key made on first use)
  update key [--json]                           the update key's public half (made on first use) for terminal configs
  update build ... --publish                    build, then publish on the hub's shelf
  update publish FILE [--arch arm64|x64] [--json]
                                                check a bundle as a terminal would, then put it on the hub's shelf
                                                (update/bundles/); refused with the reason (bad-signature, other-community, ...)
  update templates --version V [--json]         each active person's templates of the bundle's embedding model, made from
                                                their enrolment photos with the bundle's models (before rolling out a new model)
  update rollout --version V [--canary t1,t2] [--waves 10%,50%,100%] [--max-failures N] [--hub URL] [--json]
                                                a staged rollout, through the running hub's API (--hub or PROVISION_HUB_URL)
  update pause|resume|abort [--hub URL] [--json]
  update status [--log] [--hub URL] [--json]    the rollout per terminal (wave, status, reason, version, update state)`;

const commands: Record<string, Command> = {
  init: initCommand,
  pass: passCommand,
  terminal: terminalCommand,
  broker: brokerCommand,
  person: personCommand,
  registration: registrationCommand,
  alert: alertCommand,
  fleet: fleetCommand,
  door: doorCommand,
  config: configCommand,
  events: eventsCommand,
  audit: auditCommand,
  hub: hubCommand,
  update: updateCommand,
  operator: operatorCommand,
  login: loginCommand,
  logout: logoutCommand,
};

// --as and PROVISION_ACTOR are refused before any command runs: the hub audits who authenticated.
const guarded: Record<string, Command> = Object.fromEntries(Object.entries(commands).map(([name, command]): [string, Command] => [name, (args, io) => {
  refuseActorOption(args);
  return command(args, io);
}]));

export const { run, main } = commandLine('provision', USAGE, guarded);
