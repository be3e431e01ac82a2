/* admin_demo.c — `demo-data`: the demo practice's staff (an admin and two
 * clinicians with different caseloads) and about 50 clients with varied,
 * partly non-ASCII names and reserved example.* email domains. */
#include "admin.h"

#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *username;
    const char *display_name;
    int all_clients;
} demo_staff;

typedef struct {
    const char *first_name;
    const char *last_name;
    const char *date_of_birth;
    const char *email;          /* NULL: no email on file */
    int clinician2;             /* on clinician2's caseload */
} demo_client;

static const demo_staff staff[] = {
    { "admin", "Ada Admin", 1 },
    { "clinician1", "Casey Morgan", 1 },
    { "clinician2", "Sam Rivera", 0 },
};

static const demo_client clients[] = {
    { "Zoë", "Núñez", "1987-03-14", "zoe.nunez@example.org", 1 },
    { "José", "Álvarez", "1979-11-02", "jose.alvarez@example.com", 1 },
    { "Søren", "Kierkegaard-Ødegaard", "1992-06-21", "soren.ko@example.net", 0 },
    { "Łucja", "Żółkiewska", "2001-09-30", "lucja.zolkiewska@example.org", 1 },
    { "Ólafur", "Sigurðsson", "1968-01-17", "olafur.s@example.com", 0 },
    { "Νίκος", "Παπαδόπουλος", "1983-04-05", "nikos.p@example.net", 1 },
    { "Анна", "Иванова", "1995-12-12", "anna.ivanova@example.org", 0 },
    { "太郎", "山田", "2010-07-07", NULL, 1 },
    { "Siobhán", "O'Brien", "1974-02-28", "siobhan.obrien@example.org", 0 },
    { "Văn An", "Nguyễn", "1990-10-10", "van.an.nguyen@example.net", 1 },
    { "María", "García", "1985-05-19", "maria.garcia@example.com", 0 },
    { "James", "Smith", "1962-08-08", "james.smith@example.org", 1 },
    { "Aisha", "Rahman", "1998-03-03", "aisha.rahman@example.net", 0 },
    { "Chloé", "Dubois", "2003-11-23", "chloe.dubois@example.org", 0 },
    { "Mehmet", "Yılmaz", "1971-06-15", "mehmet.yilmaz@example.com", 1 },
    { "Priya", "Patel", "1993-01-29", "priya.patel@example.org", 0 },
    { "Liam", "O'Connor", "2008-04-12", NULL, 0 },
    { "Fatima", "Al-Sayed", "1980-09-09", "fatima.alsayed@example.net", 1 },
    { "Björn", "Ångström", "1966-12-01", "bjorn.angstrom@example.com", 0 },
    { "Emily", "Johnson", "1996-07-04", "emily.johnson@example.org", 0 },
    { "Mohammed", "Haddad", "1959-10-31", "m.haddad@example.net", 0 },
    { "Ines", "Müller", "1988-02-29", "ines.mueller@example.com", 1 },
    { "Wei", "Zhang", "1991-08-18", "wei.zhang@example.org", 0 },
    { "Olivia", "Brown", "2012-05-05", NULL, 0 },
    { "Kwame", "Mensah", "1977-03-21", "kwame.mensah@example.com", 0 },
    { "Hannah", "Schmidt", "1999-10-01", "hannah.schmidt@example.net", 1 },
    { "Noah", "Williams", "1984-12-24", "noah.williams@example.org", 0 },
    { "Ana Lúcia", "Ferreira", "1973-07-15", "analucia.ferreira@example.com", 0 },
    { "Дмитрий", "Соколов", "1969-04-04", "d.sokolov@example.net", 0 },
    { "Grace", "Kim", "2000-01-01", "grace.kim@example.org", 1 },
    { "Lucas", "Martin", "1994-09-27", "lucas.martin@example.com", 0 },
    { "Sofia", "Rossi", "1986-06-06", "sofia.rossi@example.net", 0 },
    { "Ethan", "Davis", "2006-02-14", "ethan.davis@example.org", 0 },
    { "Amélie", "Laurent", "1975-11-11", "amelie.laurent@example.com", 1 },
    { "Mateo", "Hernández", "2009-08-20", NULL, 0 },
    { "Isabella", "López", "1997-04-30", "isabella.lopez@example.net", 0 },
    { "Oscar", "Nilsson", "1958-03-08", "oscar.nilsson@example.org", 0 },
    { "Mia", "Anderson", "1990-02-02", "mia.anderson@example.com", 0 },
    { "Tomás", "Ó Súilleabháin", "1982-10-19", "tomas.osullivan@example.net", 1 },
    { "Ava", "Thompson", "2002-12-31", "ava.thompson@example.org", 0 },
    { "Benjamin", "Lee", "1965-05-25", "ben.lee@example.com", 0 },
    { "Yasmin", "Haddad", "1989-07-27", "yasmin.haddad@example.net", 0 },
    { "Daniel", "Wilson", "1976-01-09", "daniel.wilson@example.org", 0 },
    { "Ingrid", "Halvorsen", "1953-09-14", "ingrid.halvorsen@example.com", 0 },
    { "Samuel", "Okafor", "1993-11-05", "samuel.okafor@example.net", 1 },
    { "Charlotte", "Moore", "1981-04-16", "charlotte.moore@example.org", 0 },
    { "Jack", "Taylor", "2011-10-10", NULL, 0 },
    { "Elena", "Popescu", "1978-08-29", "elena.popescu@example.com", 0 },
    { "Mariam", "Tesfaye", "1995-06-30", "mariam.tesfaye@example.net", 1 },
    { "Henry", "Clark", "1949-02-11", "henry.clark@example.org", 0 },
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* 1: empty database, fill it; 0: the demo data is already there; -1: refuse. */
static int check_database(admin_db *db, int *state)
{
    int nstaff, nclients, ndemo;

    if (admin_db_count(db, PM_SQL_ADMIN_STAFF_COUNT, &nstaff, NULL, NULL) != ADMIN_OK
        || admin_db_count(db, PM_SQL_ADMIN_CLIENT_COUNT, &nclients, NULL, NULL) != ADMIN_OK
        || admin_db_count(db, PM_SQL_ADMIN_DEMO_STAFF_COUNT, &ndemo, NULL, NULL) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (nstaff == 0 && nclients == 0) {
        *state = 1;
    }
    else if (ndemo == COUNT(staff) && nclients > 0) {
        *state = 0;
    }
    else {
        admin_error("the database already holds %d staff and %d clients that are not the "
                    "demo data; demo-data only fills an empty database", nstaff, nclients);
        *state = -1;
    }
    return ADMIN_OK;
}

static int insert_staff(admin_db *db, const char *now)
{
    int i;

    for (i = 0; i < COUNT(staff); i++) {
        if (pm_db_exec(db->exec, PM_SQL_ADMIN_STAFF_INSERT, NULL, staff[i].username,
                       staff[i].display_name, staff[i].all_clients ? "1" : "0", now)
            != APR_SUCCESS) {
            return ADMIN_FAIL;
        }
    }
    return ADMIN_OK;
}

/* Inserts the clients and grants clinician2 their caseload. */
static int insert_clients(admin_db *db, const char *now, int *granted)
{
    pm_client_keyer *keyer;
    pm_client_keys_stage *stage;
    const char *id, *language;
    int i;

    *granted = 0;
    if (admin_db_language(db, &language) != ADMIN_OK
        || admin_clients_keyer(db, &keyer, &stage) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    for (i = 0; i < COUNT(clients); i++) {
        const demo_client *c = &clients[i];

        if (admin_clients_insert(db, keyer, stage, c->first_name, c->last_name,
                                 c->date_of_birth, c->email, language, now, &id) != ADMIN_OK) {
            return ADMIN_FAIL;
        }
        if (c->clinician2) {
            if (pm_db_exec(db->exec, PM_SQL_ADMIN_GRANT_INSERT, NULL, "clinician2", id)
                != APR_SUCCESS) {
                return ADMIN_FAIL;
            }
            (*granted)++;
        }
    }
    return pm_client_keys_stage_finish(stage) == APR_SUCCESS ? ADMIN_OK : ADMIN_FAIL;
}

int admin_cmd_demo_data(admin_db *db, const admin_options *o)
{
    const char *now = apr_psprintf(db->pool, "%" APR_INT64_T_FMT, admin_now());
    int state, granted;

    if (check_database(db, &state) != ADMIN_OK || state < 0) {
        return ADMIN_FAIL;
    }
    if (state == 0) {
        printf("the demo data is already there; nothing to do\n");
        return ADMIN_OK;
    }
    if (admin_db_begin(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    if (insert_staff(db, now) != ADMIN_OK || insert_clients(db, now, &granted) != ADMIN_OK) {
        admin_db_rollback(db);
        admin_error("demo-data was rolled back; nothing was added");
        return ADMIN_FAIL;
    }
    if (admin_db_commit(db) != ADMIN_OK) {
        return ADMIN_FAIL;
    }
    printf("added the demo data: %d staff (admin, clinician1 with all clients, clinician2 "
           "with %d clients) and %d clients\n", COUNT(staff), granted, COUNT(clients));
    return ADMIN_OK;
}
